using Embedded.Rnn.Tests.Models;
using Embedded.Rnn.Tests.Support;
using Xunit;

namespace Embedded.Rnn.Tests;

/// <summary>
/// The multi-stream <c>Step</c> and <c>Run</c> (issue 15): streams handed back and forth between the multi-stream and the
/// single-stream <c>Step</c> agree with streams that only ever took single steps, and sequences through the multi-stream
/// <c>Run</c> with their single <c>Run</c>s, on every path; they allocate nothing, refuse spans that do not hold their
/// streams, and run from several threads on disjoint states. (Its agreement with PyTorch is in
/// <see cref="ReferenceNumericsTests"/>.)
/// </summary>
public sealed class MultiStreamTests
{
    // The multi-stream tiles add each unit's products in another order than the single-stream tiles (no partial sums),
    // so results differ by float rounding only: a few ulps per step, compounded over the steps.
    private const double AgreementBound = 1e-6;

    public static TheoryData<string, KernelPath> ModelsAndPaths()
    {
        var data = new TheoryData<string, KernelPath>();
        foreach (string model in new[] { "lstm_i8_h32_t20_b2", "gru_i8_h32_t20_b2", "rnn_tanh_i8_h32_t20_b2", "lstm_i8_h16_t10_b2_l2", "gru_before_i5_h12_t7_b3", "lstm_head_softmax", "gru_same_width_deep" })
        {
            foreach (var path in KernelLayout.WidestFirst)
            {
                data.Add(model, path);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ModelsAndPaths))]
    public void Streams_handed_between_the_single_and_multi_stream_Step_agree_with_single_steps(string model, KernelPath path)
    {
        double worst = Accept(model, path, new HandOver(Seed: model.Length * 31 + (int)path));
        Assert.True(worst <= AgreementBound, $"{model} on {path}: {worst:E2}");
    }

    [Theory]
    [MemberData(nameof(ModelsAndPaths))]
    public void Sequences_through_the_multi_stream_Run_agree_with_single_Runs(string model, KernelPath path)
    {
        double worst = Accept(model, path, new WholeSequences(Seed: model.Length * 17 + (int)path));
        Assert.True(worst <= AgreementBound, $"{model} on {path}: {worst:E2}");
    }

    public static TheoryData<string, KernelPath> ProjectedModelsAndPaths()
    {
        var data = new TheoryData<string, KernelPath>();
        foreach (string model in new[] { "lstm_wide_head", "lstm_wide_head_bf16", "lstm_wide_head_int8", "gru_i12_h64_l2", "gru_before_i9_h64_l2", "gru_before_i9_h64_l2_int8", "rnn_i10_h72" })
        {
            foreach (var path in KernelLayout.WidestFirst)
            {
                data.Add(model, path);
            }
        }

        return data;
    }

    // With 8 or more inputs and 64 or more hidden units, Run on Vector512 projects the first layer's inputs a group of steps
    // at a time and steps from the projections (the models here; GeneratorOutputTests checks which models do); other paths step.
    // Each projection adds the bias and the input columns in the order a step's tile does, and the projected step continues
    // with the same recurrent columns, so Run equals stepping bit for bit, whatever T leaves for the single steps at the end.
    [Theory]
    [MemberData(nameof(ProjectedModelsAndPaths))]
    public void The_time_batched_Run_equals_stepping_bit_for_bit(string model, KernelPath path)
    {
        Assert.Equal(0, Accept(model, path, new RunAgainstSteps(Seed: model.Length * 13 + (int)path)));
    }

    [Fact]
    public void Multi_stream_steps_allocate_nothing_on_every_path()
    {
        var lstm = ReferenceCase.Load("lstm_i8_h32_t20_b2").ParameterFile();
        var gru = ReferenceCase.Load("gru_before_i5_h12_t7_b3").ParameterFile();
        foreach (var path in KernelLayout.WidestFirst.Where(KernelPaths.IsAccelerated))
        {
            AssertNoAllocation(LstmI8H32T20B2.FromSafetensors(lstm, path), new LstmI8H32T20B2.State[11]);
            AssertNoAllocation(GruBeforeI5H12T7B3.FromSafetensors(gru, path), new GruBeforeI5H12T7B3.State[11]);
        }
    }

    [Fact]
    public void Spans_that_do_not_hold_the_streams_are_refused()
    {
        var model = LstmI8H32T20B2.FromSafetensors(ReferenceCase.Load("lstm_i8_h32_t20_b2").ParameterFile());
        var states = new LstmI8H32T20B2.State[3];
        var xs = new float[3 * LstmI8H32T20B2.InputSize];
        var ys = new float[3 * LstmI8H32T20B2.OutputSize];
        var shortInputs = Assert.Throws<ArgumentException>(() => model.Step(xs.AsSpan(1), states, ys));
        Assert.Equal("xs", shortInputs.ParamName);
        Assert.Contains("xs has length 23; expected 24 (states.Length × InputSize)", shortInputs.Message);
        Assert.Equal("ys", Assert.Throws<ArgumentException>(() => model.Step(xs, states, ys.AsSpan(1))).ParamName);
        Assert.Equal("xs", Assert.Throws<ArgumentException>(() => model.Step(xs, states.AsSpan(1), ys)).ParamName);
        Assert.All(states, s => Assert.All(s.Hidden(0).ToArray(), v => Assert.Equal(0f, v))); // refused before any change

        model.Step(ReadOnlySpan<float>.Empty, Span<LstmI8H32T20B2.State>.Empty, Span<float>.Empty); // no streams: nothing to do

        // The multi-stream Run: 3 sequences of 4 steps, and xs or ys one float off, or for another number of states.
        var sequences = new float[3 * 4 * LstmI8H32T20B2.InputSize];
        var sequenceYs = new float[3 * 4 * LstmI8H32T20B2.OutputSize];
        Assert.Equal("xs", Assert.Throws<ArgumentException>(() => model.Run(sequences.AsSpan(1), states, sequenceYs)).ParamName);
        Assert.Equal("ys", Assert.Throws<ArgumentException>(() => model.Run(sequences, states, sequenceYs.AsSpan(1))).ParamName);
        Assert.Equal("xs", Assert.Throws<ArgumentException>(() => model.Run(sequences, states.AsSpan(1, 2).ToArray().Concat(new LstmI8H32T20B2.State[3]).ToArray(), sequenceYs)).ParamName);
        var noStates = Assert.Throws<ArgumentException>(() => model.Run(sequences, Span<LstmI8H32T20B2.State>.Empty, Span<float>.Empty));
        Assert.Equal("xs", noStates.ParamName);
        Assert.Contains("xs has length 96; expected 0 (states.Length × InputSize", noStates.Message);
        Assert.Contains("xs has length 95; expected a multiple of 24 (states.Length × InputSize", Assert.Throws<ArgumentException>(() => model.Run(sequences.AsSpan(1), states, sequenceYs)).Message);
        Assert.All(states, s => Assert.All(s.Hidden(0).ToArray(), v => Assert.Equal(0f, v)));
        model.Run(ReadOnlySpan<float>.Empty, states, Span<float>.Empty); // zero steps: nothing to do
        model.Run(ReadOnlySpan<float>.Empty, Span<LstmI8H32T20B2.State>.Empty, Span<float>.Empty);
    }

    [Fact]
    public void Threads_on_disjoint_states_get_what_one_thread_gets()
    {
        var model = GruI8H32T20B2.FromSafetensors(ReferenceCase.Load("gru_i8_h32_t20_b2").ParameterFile());
        const int Streams = 64, Parts = 4, Steps = 50;
        var xs = new float[Streams * GruI8H32T20B2.InputSize];
        var alone = new GruI8H32T20B2.State[Streams];
        var shared = new GruI8H32T20B2.State[Streams];
        var ysAlone = new float[Streams * GruI8H32T20B2.OutputSize];
        var ysShared = new float[Streams * GruI8H32T20B2.OutputSize];
        for (int t = 0; t < Steps; t++)
        {
            for (int i = 0; i < xs.Length; i++)
            {
                xs[i] = MathF.Sin(0.37f * i + 0.11f * t);
            }

            model.Step(xs, alone, ysAlone);
            int part = Streams / Parts;
            Parallel.For(0, Parts, p => model.Step(
                xs.AsSpan(p * part * GruI8H32T20B2.InputSize, part * GruI8H32T20B2.InputSize),
                shared.AsSpan(p * part, part),
                ysShared.AsSpan(p * part * GruI8H32T20B2.OutputSize, part * GruI8H32T20B2.OutputSize)));
            Assert.Equal(ysAlone, ysShared); // same kernels in the same order: bit for bit
        }
    }

    private static void AssertNoAllocation<TState>(IStreamingRnnModel<TState> model, TState[] states)
        where TState : struct, IRnnState
    {
        var xs = new float[states.Length * model.Shape.InputSize];
        var ys = new float[states.Length * model.Shape.OutputSize];
        var sequences = new float[states.Length * 25 * model.Shape.InputSize];
        var sequenceYs = new float[states.Length * 25 * model.Shape.OutputSize];
        void Stream()
        {
            for (int i = 0; i < 2_000; i++)
            {
                xs[i % xs.Length] = MathF.Sin(i * 0.01f);
                model.Step(xs, states, ys);
            }

            model.Run(sequences, states, sequenceYs);
        }

        Stream(); // warm-up: tiered compilation and on-stack replacement may allocate runtime data on this thread
        Assert.Equal(0, Allocations.Settled(Stream));
        Assert.All(ys, v => Assert.True(float.IsFinite(v)));
    }

    private static double Accept(string model, KernelPath path, IModelVisitor<double> visitor) => model switch
    {
        "lstm_head_softmax" => visitor.Visit(LstmHeadSoftmax.FromParameters(RandomParameters(LstmHeadSoftmax.Parameters, 1), path)),
        "gru_same_width_deep" => visitor.Visit(GruSameWidthDeep.FromParameters(RandomParameters(GruSameWidthDeep.Parameters, 2), path)),
        "gru_before_i9_h64_l2" => visitor.Visit(GruBeforeI9H64L2.FromParameters(RandomParameters(GruBeforeI9H64L2.Parameters, 3), path)),
        "gru_before_i9_h64_l2_int8" => visitor.Visit(GruBeforeI9H64L2Int8.FromParameters(RandomParameters(GruBeforeI9H64L2Int8.Parameters, 3), path)),
        "gru_i12_h64_l2" => visitor.Visit(GruI12H64L2.FromParameters(RandomParameters(GruI12H64L2.Parameters, 5), path)),
        "rnn_i10_h72" => visitor.Visit(RnnI10H72.FromParameters(RandomParameters(RnnI10H72.Parameters, 6), path)),
        "lstm_wide_head" => visitor.Visit(LstmWideHead.FromParameters(RandomParameters(LstmWideHead.Parameters, 4), path)),
        "lstm_wide_head_bf16" => visitor.Visit(LstmWideHeadBf16.FromParameters(RandomParameters(LstmWideHeadBf16.Parameters, 4), path)),
        "lstm_wide_head_int8" => visitor.Visit(LstmWideHeadInt8.FromParameters(RandomParameters(LstmWideHeadInt8.Parameters, 4), path)),
        _ => ReferenceModels.Accept(model, ReferenceCase.Load(model).ParameterFile(), path, visitor),
    };

    private static float[][] RandomParameters(IReadOnlyList<ParameterSpec> parameters, int seed)
    {
        var random = new Random(seed);
        return parameters.Select(p => Enumerable.Range(0, p.ElementCount).Select(_ => (float)(random.NextDouble() * 0.8 - 0.4)).ToArray()).ToArray();
    }

    // Sequences of 1 to 13 steps (whole groups of projected steps and the rest stepped alone on every path), each from a
    // state a random step reached, through Run and step by step. Returns the largest absolute difference (0: bit for bit).
    private sealed record RunAgainstSteps(int Seed) : IModelVisitor<double>
    {
        public double Visit<TState>(IRnnModel<TState> model)
            where TState : struct, IRnnState
        {
            var streaming = (IStreamingRnnModel<TState>)model;
            var shape = model.Shape;
            var random = new Random(Seed);
            float[] Random(int length) => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            double worst = 0;
            for (int steps = 1; steps <= 13; steps++)
            {
                var state = default(TState);
                streaming.Step(Random(shape.InputSize), ref state, new float[shape.OutputSize]);
                var stepped = state;
                var xs = Random(steps * shape.InputSize);
                var ys = new float[steps * shape.OutputSize];
                streaming.Run(xs, ref state, ys);
                var y = new float[shape.OutputSize];
                for (int t = 0; t < steps; t++)
                {
                    streaming.Step(xs.AsSpan(t * shape.InputSize, shape.InputSize), ref stepped, y);
                    worst = Math.Max(worst, y.Zip(ys.AsSpan(t * shape.OutputSize, shape.OutputSize).ToArray()).Max(p => Math.Abs(p.First - p.Second)));
                }

                for (int layer = 0; layer < shape.LayerCount; layer++)
                {
                    worst = Math.Max(worst, stepped.Hidden(layer).ToArray().Zip(state.Hidden(layer).ToArray()).Max(p => Math.Abs(p.First - p.Second)));
                }
            }

            return worst;
        }
    }

    // 1 to 11 sequences (whole groups and a remainder on every path) of 13 steps through the multi-stream Run, each from a
    // state its twin reached by single steps; the twin then runs its sequence alone. Returns the largest scaled difference
    // of the outputs and final hidden states.
    private sealed record WholeSequences(int Seed) : IModelVisitor<double>
    {
        public double Visit<TState>(IRnnModel<TState> model)
            where TState : struct, IRnnState
        {
            var streaming = (IStreamingRnnModel<TState>)model;
            var shape = model.Shape;
            const int Steps = 13;
            var random = new Random(Seed);
            float[] Random(int length) => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            double worst = 0;
            foreach (int streams in new[] { 1, 4, 5, 11 })
            {
                var states = new TState[streams];
                var twins = new TState[streams];
                var warm = new float[shape.OutputSize];
                for (int s = 0; s < streams; s++)
                {
                    streaming.Step(Random(shape.InputSize), ref states[s], warm);
                    twins[s] = states[s];
                }

                var sequences = Enumerable.Range(0, streams).Select(_ => Random(Steps * shape.InputSize)).ToArray();
                var ys = new float[streams * Steps * shape.OutputSize];
                streaming.Run(sequences.SelectMany(x => x).ToArray(), states, ys);
                for (int s = 0; s < streams; s++)
                {
                    var twinYs = new float[Steps * shape.OutputSize];
                    streaming.Run(sequences[s], ref twins[s], twinYs);
                    worst = Math.Max(worst, Worst(twinYs, ys.AsSpan(s * twinYs.Length, twinYs.Length).ToArray()));
                    for (int layer = 0; layer < shape.LayerCount; layer++)
                    {
                        worst = Math.Max(worst, Worst(twins[s].Hidden(layer).ToArray(), states[s].Hidden(layer).ToArray()));
                    }
                }
            }

            return worst;
        }
    }

    private static double Worst(float[] expected, float[] actual) =>
        expected.Zip(actual).Max(p => Math.Abs((double)p.First - p.Second) / Math.Max(1, Math.Abs((double)p.First)));

    // 67 streams over 12 steps. Every stream has a twin that only takes single steps. Each step, a random number of the
    // streams (1 to 67, in random order) is copied into one span and advanced by the multi-stream Step, then copied back;
    // the rest take a single step. Returns the largest scaled difference between a stream and its twin.
    private sealed record HandOver(int Seed) : IModelVisitor<double>
    {
        public double Visit<TState>(IRnnModel<TState> model)
            where TState : struct, IRnnState
        {
            var streaming = (IStreamingRnnModel<TState>)model;
            var shape = model.Shape;
            const int Streams = 67, Steps = 12;
            var random = new Random(Seed);
            var states = new TState[Streams];
            var twins = new TState[Streams];
            var x = new float[Streams][];
            var y = new float[shape.OutputSize];
            var ys = new float[Streams][];
            var twinYs = new float[Streams][];
            double worst = 0;
            for (int t = 0; t < Steps; t++)
            {
                for (int s = 0; s < Streams; s++)
                {
                    x[s] = Enumerable.Range(0, shape.InputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
                    twinYs[s] = new float[shape.OutputSize];
                    streaming.Step(x[s], ref twins[s], twinYs[s]);
                }

                var order = Enumerable.Range(0, Streams).OrderBy(_ => random.Next()).ToArray();
                int many = random.Next(1, Streams + 1);
                var group = order.Take(many).ToArray();
                var groupStates = group.Select(s => states[s]).ToArray();
                var xs = group.SelectMany(s => x[s]).ToArray();
                var groupYs = new float[many * shape.OutputSize];
                streaming.Step(xs, groupStates, groupYs);
                for (int i = 0; i < many; i++)
                {
                    states[group[i]] = groupStates[i];
                    ys[group[i]] = groupYs.AsSpan(i * shape.OutputSize, shape.OutputSize).ToArray();
                }

                foreach (int s in order.Skip(many))
                {
                    streaming.Step(x[s], ref states[s], y);
                    ys[s] = y.ToArray();
                }

                for (int s = 0; s < Streams; s++)
                {
                    worst = Math.Max(worst, Worst(twinYs[s], ys[s]));
                    for (int layer = 0; layer < shape.LayerCount; layer++)
                    {
                        worst = Math.Max(worst, Worst(twins[s].Hidden(layer).ToArray(), states[s].Hidden(layer).ToArray()));
                    }
                }
            }

            return worst;
        }
    }
}
