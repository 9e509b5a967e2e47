using Embedded.Rnn.Tests.Models;
using Xunit;

namespace Embedded.Rnn.Tests;

/// <summary>
/// Outputs written over inputs. Step's y may overlap x in any way. Run over one sequence writes ys in place (ys starting
/// where xs starts) when OutputSize ≤ InputSize, except a single bidirectional layer without a head, whose backward pass
/// reads xs after its forward pass wrote ys; the multi-stream Step and Run write in place when OutputSize = InputSize.
/// In place gives exactly the result of separate buffers; every other overlap is refused before any state moves. A caller's
/// workspace (bidirectional Run) must not overlap xs or ys at all in the part it uses.
/// </summary>
public sealed class InPlaceTests
{
    public static TheoryData<string, KernelPath> RunInPlaceModelsAndPaths()
    {
        var data = new TheoryData<string, KernelPath>();
        // Time-batched on Vector512 (f32, bf16, int8), a deep stack with a head, outputs the size of the inputs, and a
        // bidirectional stack with a head (whose first layer reads xs in full before the head writes ys).
        foreach (string model in new[] { "lstm_wide_head", "lstm_wide_head_bf16", "lstm_wide_head_int8", "gru_same_width_deep", "lstm_i16_h16", "gru_bidir_head_sigmoid" })
        {
            foreach (var path in KernelLayout.WidestFirst)
            {
                data.Add(model, path);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(RunInPlaceModelsAndPaths))]
    public void Run_in_place_equals_Run_on_separate_buffers(string model, KernelPath path)
    {
        switch (model)
        {
            case "lstm_wide_head": RunInPlace(LstmWideHead.FromParameters(RandomParameters(LstmWideHead.Parameters), path)); break;
            case "lstm_wide_head_bf16": RunInPlace(LstmWideHeadBf16.FromParameters(RandomParameters(LstmWideHeadBf16.Parameters), path)); break;
            case "lstm_wide_head_int8": RunInPlace(LstmWideHeadInt8.FromParameters(RandomParameters(LstmWideHeadInt8.Parameters), path)); break;
            case "gru_same_width_deep": RunInPlace(GruSameWidthDeep.FromParameters(RandomParameters(GruSameWidthDeep.Parameters), path)); break;
            case "lstm_i16_h16": RunInPlace(LstmI16H16.FromParameters(RandomParameters(LstmI16H16.Parameters), path)); break;
            case "gru_bidir_head_sigmoid": RunInPlace(GruBidirHeadSigmoid.FromParameters(RandomParameters(GruBidirHeadSigmoid.Parameters), path)); break;
            default: throw new ArgumentException(model, nameof(model));
        }
    }

    [Fact]
    public void A_single_bidirectional_layer_without_a_head_refuses_to_run_in_place()
    {
        // Its forward pass writes ys, then its backward pass reads xs: in place, it read its own outputs (0.56 off, silently).
        var model = GruI8H4Bidir.FromParameters(RandomParameters(GruI8H4Bidir.Parameters));
        Assert.Equal(GruI8H4Bidir.InputSize, GruI8H4Bidir.OutputSize);
        var buffer = Random(6 * GruI8H4Bidir.InputSize, seed: 3);
        var state = default(GruI8H4Bidir.State);
        AssertRefused(() => model.Run(buffer, ref state, buffer));
        AssertRefused(() => model.Run(buffer, ref state, buffer, Span<float>.Empty));
        AssertRefused(() => model.Run(buffer.AsSpan(0, 5 * GruI8H4Bidir.InputSize), ref state, buffer.AsSpan(GruI8H4Bidir.InputSize)));
        Assert.All(state.Hidden(0, 1).ToArray(), v => Assert.Equal(0f, v)); // refused before any state moved

        var ys = new float[buffer.Length];
        model.Run(buffer, ref state, ys); // separate buffers run
        Assert.All(ys, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Run_refuses_every_overlap_but_in_place()
    {
        const int Steps = 5, I = LstmI16H16.InputSize;
        var model = LstmI16H16.FromParameters(RandomParameters(LstmI16H16.Parameters));
        var state = default(LstmI16H16.State);
        var buffer = Random((Steps + 1) * I, seed: 4);
        AssertRefused(() => model.Run(buffer.AsSpan(0, Steps * I), ref state, buffer.AsSpan(I, Steps * I)), $"starting {I} floats after the start of xs");
        AssertRefused(() => model.Run(buffer.AsSpan(I, Steps * I), ref state, buffer.AsSpan(0, Steps * I)), $"starting {I} floats before the start of xs");
        AssertRefused(() => model.Run(buffer.AsSpan(0, Steps * I), ref state, buffer.AsSpan(1, Steps * I)), "starting 1 float after the start of xs");
        Assert.All(state.Hidden(0).ToArray(), v => Assert.Equal(0f, v));

        // More outputs than inputs: step t's output would reach step t + 1's input, so not even in place.
        var wide = LstmI8H32T20B2.FromParameters(RandomParameters(LstmI8H32T20B2.Parameters));
        var wideState = default(LstmI8H32T20B2.State);
        var wideBuffer = new float[Steps * LstmI8H32T20B2.OutputSize];
        AssertRefused(() => wide.Run(wideBuffer.AsSpan(0, Steps * LstmI8H32T20B2.InputSize), ref wideState, wideBuffer));
    }

    [Fact]
    public void The_multi_stream_Step_and_Run_refuse_every_overlap_but_in_place_with_outputs_the_size_of_the_inputs()
    {
        // 18 inputs, 3 outputs: in place, stream 1's output would land on stream 0's inputs (Run: on steps not yet read).
        var narrow = GruSameWidthDeep.FromParameters(RandomParameters(GruSameWidthDeep.Parameters));
        var states = new GruSameWidthDeep.State[5];
        var buffer = Random(5 * 4 * GruSameWidthDeep.InputSize, seed: 5);
        AssertRefused(() => narrow.Step(buffer.AsSpan(0, 5 * GruSameWidthDeep.InputSize), states, buffer.AsSpan(0, 5 * GruSameWidthDeep.OutputSize)));
        AssertRefused(() => narrow.Run(buffer, states, buffer.AsSpan(0, 5 * 4 * GruSameWidthDeep.OutputSize)));
        Assert.All(states, s => Assert.All(s.Hidden(0).ToArray(), v => Assert.Equal(0f, v)));

        const int I = LstmI16H16.InputSize;
        var model = LstmI16H16.FromParameters(RandomParameters(LstmI16H16.Parameters));
        var same = new LstmI16H16.State[5];
        var sameBuffer = Random(5 * 4 * I + 1, seed: 6);
        AssertRefused(() => model.Step(sameBuffer.AsSpan(0, 5 * I), same, sameBuffer.AsSpan(1, 5 * I)));
        AssertRefused(() => model.Run(sameBuffer.AsSpan(0, 5 * 4 * I), same, sameBuffer.AsSpan(1, 5 * 4 * I)));
        Assert.All(same, s => Assert.All(s.Hidden(0).ToArray(), v => Assert.Equal(0f, v)));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void The_multi_stream_Step_and_Run_in_place_equal_separate_buffers(KernelPath path)
    {
        const int I = LstmI16H16.InputSize, Steps = 7;
        var model = LstmI16H16.FromParameters(RandomParameters(LstmI16H16.Parameters), path);
        foreach (int streams in new[] { 1, 4, 5, 11 }) // whole groups of streams and a remainder on every path
        {
            var start = Enumerable.Range(0, streams).Select(s => WarmState(model, seed: 10 + s)).ToArray();

            var xs = Random(streams * I, seed: streams);
            var separate = start.ToArray();
            var ys = new float[streams * I];
            model.Step(xs, separate, ys);
            var inPlace = start.ToArray();
            var buffer = xs.ToArray();
            model.Step(buffer, inPlace, buffer);
            Assert.Equal(ys, buffer);
            AssertSameHidden(LstmI16H16.Shape, separate, inPlace);

            var sequences = Random(streams * Steps * I, seed: 20 + streams);
            separate = start.ToArray();
            var sequenceYs = new float[sequences.Length];
            model.Run(sequences, separate, sequenceYs);
            inPlace = start.ToArray();
            buffer = sequences.ToArray();
            model.Run(buffer, inPlace, buffer);
            Assert.Equal(sequenceYs, buffer);
            AssertSameHidden(LstmI16H16.Shape, separate, inPlace);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Step_writes_its_output_over_its_input_in_any_overlap(KernelPath path)
    {
        const int I = LstmI16H16.InputSize;
        var model = LstmI16H16.FromParameters(RandomParameters(LstmI16H16.Parameters), path);
        var start = WarmState(model, seed: 7);
        var x = Random(I, seed: 8);
        var separate = start;
        var y = new float[I];
        model.Step(x, ref separate, y);
        foreach (int offset in new[] { -5, 0, 1, 15 })
        {
            var buffer = new float[3 * I];
            x.CopyTo(buffer, I);
            var overlapping = start;
            model.Step(buffer.AsSpan(I, I), ref overlapping, buffer.AsSpan(I + offset, I));
            Assert.Equal(y, buffer.AsSpan(I + offset, I).ToArray());
            Assert.Equal(separate.Hidden(0).ToArray(), overlapping.Hidden(0).ToArray());
        }
    }

    [Fact]
    public void The_nanoFramework_Run_refuses_xs_as_ys_where_the_model_cannot_run_in_place()
    {
        var parameters = Enumerable.Range(0, NanoGruI8H4Bidir.ParameterCount)
            .Select(i => Random(NanoGruI8H4Bidir.ParameterLength(i), seed: i)).ToArray();
        var model = new NanoGruI8H4Bidir(parameters);
        var state = new NanoGruI8H4Bidir.State();
        var buffer = Random(6 * NanoGruI8H4Bidir.InputSize, seed: 9);
        Assert.Equal("ys", Assert.Throws<ArgumentException>(() => model.Run(buffer, state, buffer)).ParamName);
        Assert.All(state.Hidden, v => Assert.Equal(0f, v));
        model.Run(buffer, state, new float[buffer.Length]);
        model.Run([], state, []); // nothing to run: no overlap to refuse
    }

    // Two layers and a head: two buffers of T × (2 × 12) floats, the layers' outputs taking turns (a layer reads one while
    // it writes the other). One layer without a head writes straight into ys. A negative T is refused, not answered with a
    // negative length, and a T whose workspace would not fit an array overflows.
    [Fact]
    public void The_workspace_length_counts_the_buffers_and_refuses_a_negative_or_overflowing_T()
    {
        Assert.Equal(0, GruBidirHeadSigmoid.RunWorkspaceLength(0));
        Assert.Equal(2 * 7 * 2 * 12, GruBidirHeadSigmoid.RunWorkspaceLength(7));
        Assert.Equal(0, GruI8H4Bidir.RunWorkspaceLength(7));
        Assert.Equal("steps", Assert.Throws<ArgumentOutOfRangeException>(() => GruBidirHeadSigmoid.RunWorkspaceLength(-1)).ParamName);
        Assert.Equal("steps", Assert.Throws<ArgumentOutOfRangeException>(() => GruI8H4Bidir.RunWorkspaceLength(-1)).ParamName);
        Assert.Throws<OverflowException>(() => GruBidirHeadSigmoid.RunWorkspaceLength(int.MaxValue / 2));

        var model = GruBidirHeadSigmoid.FromParameters(RandomParameters(GruBidirHeadSigmoid.Parameters));
        var state = default(GruBidirHeadSigmoid.State);
        var e = Assert.Throws<ArgumentException>(() => model.Run(new float[4], ref state, new float[3], new float[47]));
        Assert.Contains("workspace has length 47; expected at least 48 (RunWorkspaceLength(T))", e.Message);
    }

    public static TheoryData<string> ModelsWithAWorkspace() => new() { "gru_bidir_head_sigmoid", "gru_bidir_head_sigmoid_int8" };

    [Theory]
    [MemberData(nameof(ModelsWithAWorkspace))]
    public void Run_refuses_a_workspace_overlapping_xs_or_ys(string model)
    {
        switch (model)
        {
            case "gru_bidir_head_sigmoid":
                var f32 = GruBidirHeadSigmoid.FromParameters(RandomParameters(GruBidirHeadSigmoid.Parameters));
                RefusesAnOverlappingWorkspace(f32, f32.Run, GruBidirHeadSigmoid.RunWorkspaceLength);
                break;
            case "gru_bidir_head_sigmoid_int8":
                var int8 = GruBidirHeadSigmoidInt8.FromParameters(RandomParameters(GruBidirHeadSigmoidInt8.Parameters));
                RefusesAnOverlappingWorkspace(int8, int8.Run, GruBidirHeadSigmoidInt8.RunWorkspaceLength);
                break;
            default: throw new ArgumentException(model, nameof(model));
        }
    }

    [Theory]
    [MemberData(nameof(ModelsWithAWorkspace))]
    public void A_workspace_in_the_same_array_as_xs_and_ys_but_apart_from_them_equals_separate_arrays(string model)
    {
        switch (model)
        {
            case "gru_bidir_head_sigmoid":
                var f32 = GruBidirHeadSigmoid.FromParameters(RandomParameters(GruBidirHeadSigmoid.Parameters));
                RunsWithASharedArray(f32, f32.Run, GruBidirHeadSigmoid.RunWorkspaceLength);
                break;
            case "gru_bidir_head_sigmoid_int8":
                var int8 = GruBidirHeadSigmoidInt8.FromParameters(RandomParameters(GruBidirHeadSigmoidInt8.Parameters));
                RunsWithASharedArray(int8, int8.Run, GruBidirHeadSigmoidInt8.RunWorkspaceLength);
                break;
            default: throw new ArgumentException(model, nameof(model));
        }
    }

    public static TheoryData<KernelPath> Paths() => new(KernelLayout.WidestFirst);

    // Sequences of 1, 4 and 13 steps (a whole group of projected steps, and groups with a remainder) from a state a random
    // step reached, in place and on separate buffers: the outputs and final states must be the same bits.
    private static void RunInPlace<TState>(IRnnModel<TState> model)
        where TState : struct, IRnnState
    {
        var shape = model.Shape;
        Assert.True(shape.OutputSize <= shape.InputSize);
        foreach (int steps in new[] { 1, 4, 13 })
        {
            var start = RandomState<TState>(shape, seed: steps);
            var xs = Random(steps * shape.InputSize, seed: 30 + steps);
            var separate = start;
            var ys = new float[steps * shape.OutputSize];
            model.Run(xs, ref separate, ys);
            var inPlace = start;
            var buffer = xs.ToArray();
            model.Run(buffer, ref inPlace, buffer.AsSpan(0, ys.Length));
            Assert.Equal(ys, buffer.AsSpan(0, ys.Length).ToArray());
            AssertSameHidden(shape, [separate], [inPlace]);
        }
    }

    private delegate void RunWithWorkspace<TState>(ReadOnlySpan<float> xs, ref TState state, Span<float> ys, Span<float> workspace);

    // Before the fix each of these ran: the layers wrote the workspace over inputs still to be read, or ys over the
    // workspace being read, and returned wrong outputs without an error.
    private static void RefusesAnOverlappingWorkspace<TState>(IRnnModel<TState> model, RunWithWorkspace<TState> run, Func<int, int> workspaceLength)
        where TState : struct, IRnnState
    {
        const int Steps = 5;
        var shape = model.Shape;
        int x = Steps * shape.InputSize, y = Steps * shape.OutputSize, w = workspaceLength(Steps);
        Assert.True(w > 0);
        var buffer = Random(x + w + y, seed: 11);
        var state = default(TState);
        AssertWorkspaceRefused("xs", () => run(buffer.AsSpan(0, x), ref state, new float[y], buffer.AsSpan(0, w)), "starting where xs starts"); // xs itself
        AssertWorkspaceRefused("xs", () => run(buffer.AsSpan(0, x), ref state, new float[y], buffer.AsSpan(x - 1, w)), $"starting {x - 1} floats after the start of xs");
        AssertWorkspaceRefused("xs", () => run(buffer.AsSpan(w - 1, x), ref state, new float[y], buffer.AsSpan(0, w)), $"starting {w - 1} floats before the start of xs");
        AssertWorkspaceRefused("ys", () => run(Random(x, seed: 12), ref state, buffer.AsSpan(0, y), buffer.AsSpan(y - 1, w))); // on ys's last float
        AssertWorkspaceRefused("ys", () => run(Random(x, seed: 12), ref state, buffer.AsSpan(w - 1, y), buffer.AsSpan(0, w))); // ys on its last used float
        AssertSameHidden(shape, [default(TState)], [state]); // refused before any state moved
    }

    // xs, the workspace and ys apart in one array give the bits of three arrays; so does a workspace longer than needed
    // whose unused rest runs over ys (only the first RunWorkspaceLength(T) floats are used, so only they are checked).
    private static void RunsWithASharedArray<TState>(IRnnModel<TState> model, RunWithWorkspace<TState> run, Func<int, int> workspaceLength)
        where TState : struct, IRnnState
    {
        var shape = model.Shape;
        foreach (int steps in new[] { 1, 4, 13 })
        {
            int x = steps * shape.InputSize, y = steps * shape.OutputSize, w = workspaceLength(steps);
            var start = RandomState<TState>(shape, seed: steps);
            var xs = Random(x, seed: 40 + steps);
            var separate = start;
            var ys = new float[y];
            run(xs, ref separate, ys, new float[w]);

            foreach (int spare in new[] { 0, y })
            {
                var buffer = new float[x + w + y];
                xs.CopyTo(buffer, 0);
                var shared = start;
                run(buffer.AsSpan(0, x), ref shared, buffer.AsSpan(x + w, y), buffer.AsSpan(x, w + spare));
                Assert.Equal(ys, buffer.AsSpan(x + w, y).ToArray());
                AssertSameHidden(shape, [separate], [shared]);
            }
        }
    }

    private static void AssertWorkspaceRefused(string other, Action call, string? where = null)
    {
        var e = Assert.Throws<ArgumentException>(call);
        Assert.Equal("workspace", e.ParamName);
        Assert.Contains($"workspace overlaps {other}, {where}", e.Message, StringComparison.Ordinal);
    }

    private static TState RandomState<TState>(RnnShape shape, int seed)
        where TState : struct, IRnnState
    {
        var state = default(TState);
        var filler = new Random(seed);
        for (int layer = 0; layer < shape.LayerCount; layer++)
        {
            for (int direction = 0; direction < shape.DirectionCount; direction++)
            {
                foreach (ref float h in state.Hidden(layer, direction))
                {
                    h = (float)(filler.NextDouble() - 0.5);
                }
            }
        }

        return state;
    }

    private static LstmI16H16.State WarmState(LstmI16H16 model, int seed)
    {
        var state = default(LstmI16H16.State);
        model.Step(Random(LstmI16H16.InputSize, seed), ref state, new float[LstmI16H16.OutputSize]);
        return state;
    }

    private static void AssertSameHidden<TState>(RnnShape shape, TState[] expected, TState[] actual)
        where TState : struct, IRnnState
    {
        for (int s = 0; s < expected.Length; s++)
        {
            for (int layer = 0; layer < shape.LayerCount; layer++)
            {
                for (int direction = 0; direction < shape.DirectionCount; direction++)
                {
                    Assert.Equal(expected[s].Hidden(layer, direction).ToArray(), actual[s].Hidden(layer, direction).ToArray());
                }
            }
        }
    }

    // where: how the message places ys against xs, when the caller checks it.
    private static void AssertRefused(Action call, string? where = null)
    {
        var e = Assert.Throws<ArgumentException>(call);
        Assert.Equal("ys", e.ParamName);
        Assert.Contains($"overlaps xs, {where}", e.Message, StringComparison.Ordinal);
    }

    private static float[][] RandomParameters(IReadOnlyList<ParameterSpec> parameters) =>
        parameters.Select((p, i) => Random(p.ElementCount, seed: 100 + i).Select(v => v * 0.4f).ToArray()).ToArray();

    private static float[] Random(int length, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }
}
