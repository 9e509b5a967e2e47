using Embedded.Rnn.Tests.Models;
using Embedded.Rnn.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Embedded.Rnn.Tests;

/// <summary>
/// The nanoFramework flavour of the generated code ("target": "nanoFramework", tests/Models/nano_*.rnn.json),
/// run on desktop .NET: every PyTorch reference case through Run and (unidirectional) Step, and the derived
/// configurations against the float64 reference, within 1e-5·max(1, |ref|); the multi-stream Step against the
/// single-stream Step on each stream, bit for bit. tools/NanoCheck compiles the same generated source against
/// nanoFramework's mscorlib; no device runs it here.
/// </summary>
public sealed class NanoFrameworkParityTests(ITestOutputHelper output)
{
    /// <summary>A nano-flavour model behind one face, so that the test code is written once.</summary>
    private sealed class Nano(
        int input, int hidden, int layers, int directions, int outputSize,
        Action<float[], float[], float[]?, float[]> run,
        Action<float[], int, float[], float[]?, float[], int>? step,
        Func<(float[] H, float[]? C)> newState,
        Func<int, string> parameterName, Func<int, int> parameterLength, int parameterCount)
    {
        public int Input => input;
        public int Hidden => hidden;
        public int Slots => layers * directions;
        public int OutputSize => outputSize;
        public int ParameterCount => parameterCount;
        public string ParameterName(int i) => parameterName(i);
        public int ParameterLength(int i) => parameterLength(i);
        public (float[] H, float[]? C) NewState() => newState();

        // Runs on state arrays obtained from NewState (run/step close over the State object that owns them).
        public void Run(float[] xs, float[] h, float[]? c, float[] ys) => run(xs, h, c, ys);
        public bool CanStep => step is not null;
        public void Step(float[] xs, int t, float[] h, float[]? c, float[] ys, int yOffset) => step!(xs, t, h, c, ys, yOffset);
    }

    // Every nano class exposes the same members; this adapter maps them without reflection or generics on their side.
    private static Nano Wrap(string name, float[][] p)
    {
        switch (name)
        {
            case "gru_before_i5_h12_t7_b3": { var m = new NanoGruBeforeI5H12T7B3(p); NanoGruBeforeI5H12T7B3.State? s = null; return Make(NanoGruBeforeI5H12T7B3.InputSize, NanoGruBeforeI5H12T7B3.HiddenSize, NanoGruBeforeI5H12T7B3.LayerCount, NanoGruBeforeI5H12T7B3.DirectionCount, NanoGruBeforeI5H12T7B3.OutputSize, () => { s = new(); return (s.Hidden, null); }, (x, y) => m.Run(x, s!, y), (x, xo, y, yo) => m.Step(x, xo, s!, y, yo), NanoGruBeforeI5H12T7B3.ParameterName, NanoGruBeforeI5H12T7B3.ParameterLength, NanoGruBeforeI5H12T7B3.ParameterCount); }
            case "gru_before_i6_h16_t9_b2_bidir": { var m = new NanoGruBeforeI6H16T9B2Bidir(p); NanoGruBeforeI6H16T9B2Bidir.State? s = null; return Make(NanoGruBeforeI6H16T9B2Bidir.InputSize, NanoGruBeforeI6H16T9B2Bidir.HiddenSize, NanoGruBeforeI6H16T9B2Bidir.LayerCount, NanoGruBeforeI6H16T9B2Bidir.DirectionCount, NanoGruBeforeI6H16T9B2Bidir.OutputSize, () => { s = new(); return (s.Hidden, null); }, (x, y) => m.Run(x, s!, y), null, NanoGruBeforeI6H16T9B2Bidir.ParameterName, NanoGruBeforeI6H16T9B2Bidir.ParameterLength, NanoGruBeforeI6H16T9B2Bidir.ParameterCount); }
            case "gru_before_i4_h20_t6_b2_l2_nobias": { var m = new NanoGruBeforeI4H20T6B2L2Nobias(p); NanoGruBeforeI4H20T6B2L2Nobias.State? s = null; return Make(NanoGruBeforeI4H20T6B2L2Nobias.InputSize, NanoGruBeforeI4H20T6B2L2Nobias.HiddenSize, NanoGruBeforeI4H20T6B2L2Nobias.LayerCount, NanoGruBeforeI4H20T6B2L2Nobias.DirectionCount, NanoGruBeforeI4H20T6B2L2Nobias.OutputSize, () => { s = new(); return (s.Hidden, null); }, (x, y) => m.Run(x, s!, y), (x, xo, y, yo) => m.Step(x, xo, s!, y, yo), NanoGruBeforeI4H20T6B2L2Nobias.ParameterName, NanoGruBeforeI4H20T6B2L2Nobias.ParameterLength, NanoGruBeforeI4H20T6B2L2Nobias.ParameterCount); }
            case "gru_i1_h8_t5_b1": { var m = new NanoGruI1H8T5B1(p); NanoGruI1H8T5B1.State? s = null; return Make(NanoGruI1H8T5B1.InputSize, NanoGruI1H8T5B1.HiddenSize, NanoGruI1H8T5B1.LayerCount, NanoGruI1H8T5B1.DirectionCount, NanoGruI1H8T5B1.OutputSize, () => { s = new(); return (s.Hidden, null); }, (x, y) => m.Run(x, s!, y), (x, xo, y, yo) => m.Step(x, xo, s!, y, yo), NanoGruI1H8T5B1.ParameterName, NanoGruI1H8T5B1.ParameterLength, NanoGruI1H8T5B1.ParameterCount); }
            case "gru_i5_h12_t7_b3": { var m = new NanoGruI5H12T7B3(p); NanoGruI5H12T7B3.State? s = null; return Make(NanoGruI5H12T7B3.InputSize, NanoGruI5H12T7B3.HiddenSize, NanoGruI5H12T7B3.LayerCount, NanoGruI5H12T7B3.DirectionCount, NanoGruI5H12T7B3.OutputSize, () => { s = new(); return (s.Hidden, null); }, (x, y) => m.Run(x, s!, y), (x, xo, y, yo) => m.Step(x, xo, s!, y, yo), NanoGruI5H12T7B3.ParameterName, NanoGruI5H12T7B3.ParameterLength, NanoGruI5H12T7B3.ParameterCount); }
            case "gru_i6_h16_t9_b2_bidir": { var m = new NanoGruI6H16T9B2Bidir(p); NanoGruI6H16T9B2Bidir.State? s = null; return Make(NanoGruI6H16T9B2Bidir.InputSize, NanoGruI6H16T9B2Bidir.HiddenSize, NanoGruI6H16T9B2Bidir.LayerCount, NanoGruI6H16T9B2Bidir.DirectionCount, NanoGruI6H16T9B2Bidir.OutputSize, () => { s = new(); return (s.Hidden, null); }, (x, y) => m.Run(x, s!, y), null, NanoGruI6H16T9B2Bidir.ParameterName, NanoGruI6H16T9B2Bidir.ParameterLength, NanoGruI6H16T9B2Bidir.ParameterCount); }
            case "gru_i8_h32_t20_b2": { var m = new NanoGruI8H32T20B2(p); NanoGruI8H32T20B2.State? s = null; return Make(NanoGruI8H32T20B2.InputSize, NanoGruI8H32T20B2.HiddenSize, NanoGruI8H32T20B2.LayerCount, NanoGruI8H32T20B2.DirectionCount, NanoGruI8H32T20B2.OutputSize, () => { s = new(); return (s.Hidden, null); }, (x, y) => m.Run(x, s!, y), (x, xo, y, yo) => m.Step(x, xo, s!, y, yo), NanoGruI8H32T20B2.ParameterName, NanoGruI8H32T20B2.ParameterLength, NanoGruI8H32T20B2.ParameterCount); }
            case "lstm_i1_h8_t5_b1": { var m = new NanoLstmI1H8T5B1(p); NanoLstmI1H8T5B1.State? s = null; return Make(NanoLstmI1H8T5B1.InputSize, NanoLstmI1H8T5B1.HiddenSize, NanoLstmI1H8T5B1.LayerCount, NanoLstmI1H8T5B1.DirectionCount, NanoLstmI1H8T5B1.OutputSize, () => { s = new(); return (s.Hidden, s.Cell); }, (x, y) => m.Run(x, s!, y), (x, xo, y, yo) => m.Step(x, xo, s!, y, yo), NanoLstmI1H8T5B1.ParameterName, NanoLstmI1H8T5B1.ParameterLength, NanoLstmI1H8T5B1.ParameterCount); }
            case "lstm_i4_h16_t200_b1": { var m = new NanoLstmI4H16T200B1(p); NanoLstmI4H16T200B1.State? s = null; return Make(NanoLstmI4H16T200B1.InputSize, NanoLstmI4H16T200B1.HiddenSize, NanoLstmI4H16T200B1.LayerCount, NanoLstmI4H16T200B1.DirectionCount, NanoLstmI4H16T200B1.OutputSize, () => { s = new(); return (s.Hidden, s.Cell); }, (x, y) => m.Run(x, s!, y), (x, xo, y, yo) => m.Step(x, xo, s!, y, yo), NanoLstmI4H16T200B1.ParameterName, NanoLstmI4H16T200B1.ParameterLength, NanoLstmI4H16T200B1.ParameterCount); }
            case "lstm_i5_h12_t6_b2_nobias": { var m = new NanoLstmI5H12T6B2Nobias(p); NanoLstmI5H12T6B2Nobias.State? s = null; return Make(NanoLstmI5H12T6B2Nobias.InputSize, NanoLstmI5H12T6B2Nobias.HiddenSize, NanoLstmI5H12T6B2Nobias.LayerCount, NanoLstmI5H12T6B2Nobias.DirectionCount, NanoLstmI5H12T6B2Nobias.OutputSize, () => { s = new(); return (s.Hidden, s.Cell); }, (x, y) => m.Run(x, s!, y), (x, xo, y, yo) => m.Step(x, xo, s!, y, yo), NanoLstmI5H12T6B2Nobias.ParameterName, NanoLstmI5H12T6B2Nobias.ParameterLength, NanoLstmI5H12T6B2Nobias.ParameterCount); }
            case "lstm_i6_h16_t9_b2_bidir": { var m = new NanoLstmI6H16T9B2Bidir(p); NanoLstmI6H16T9B2Bidir.State? s = null; return Make(NanoLstmI6H16T9B2Bidir.InputSize, NanoLstmI6H16T9B2Bidir.HiddenSize, NanoLstmI6H16T9B2Bidir.LayerCount, NanoLstmI6H16T9B2Bidir.DirectionCount, NanoLstmI6H16T9B2Bidir.OutputSize, () => { s = new(); return (s.Hidden, s.Cell); }, (x, y) => m.Run(x, s!, y), null, NanoLstmI6H16T9B2Bidir.ParameterName, NanoLstmI6H16T9B2Bidir.ParameterLength, NanoLstmI6H16T9B2Bidir.ParameterCount); }
            case "lstm_i8_h16_t10_b2_l2": { var m = new NanoLstmI8H16T10B2L2(p); NanoLstmI8H16T10B2L2.State? s = null; return Make(NanoLstmI8H16T10B2L2.InputSize, NanoLstmI8H16T10B2L2.HiddenSize, NanoLstmI8H16T10B2L2.LayerCount, NanoLstmI8H16T10B2L2.DirectionCount, NanoLstmI8H16T10B2L2.OutputSize, () => { s = new(); return (s.Hidden, s.Cell); }, (x, y) => m.Run(x, s!, y), (x, xo, y, yo) => m.Step(x, xo, s!, y, yo), NanoLstmI8H16T10B2L2.ParameterName, NanoLstmI8H16T10B2L2.ParameterLength, NanoLstmI8H16T10B2L2.ParameterCount); }
            case "lstm_i8_h32_t20_b2": { var m = new NanoLstmI8H32T20B2(p); NanoLstmI8H32T20B2.State? s = null; return Make(NanoLstmI8H32T20B2.InputSize, NanoLstmI8H32T20B2.HiddenSize, NanoLstmI8H32T20B2.LayerCount, NanoLstmI8H32T20B2.DirectionCount, NanoLstmI8H32T20B2.OutputSize, () => { s = new(); return (s.Hidden, s.Cell); }, (x, y) => m.Run(x, s!, y), (x, xo, y, yo) => m.Step(x, xo, s!, y, yo), NanoLstmI8H32T20B2.ParameterName, NanoLstmI8H32T20B2.ParameterLength, NanoLstmI8H32T20B2.ParameterCount); }
            case "rnn_relu_i1_h8_t5_b1": { var m = new NanoRnnReluI1H8T5B1(p); NanoRnnReluI1H8T5B1.State? s = null; return Make(NanoRnnReluI1H8T5B1.InputSize, NanoRnnReluI1H8T5B1.HiddenSize, NanoRnnReluI1H8T5B1.LayerCount, NanoRnnReluI1H8T5B1.DirectionCount, NanoRnnReluI1H8T5B1.OutputSize, () => { s = new(); return (s.Hidden, null); }, (x, y) => m.Run(x, s!, y), (x, xo, y, yo) => m.Step(x, xo, s!, y, yo), NanoRnnReluI1H8T5B1.ParameterName, NanoRnnReluI1H8T5B1.ParameterLength, NanoRnnReluI1H8T5B1.ParameterCount); }
            case "rnn_relu_i8_h32_t20_b2": { var m = new NanoRnnReluI8H32T20B2(p); NanoRnnReluI8H32T20B2.State? s = null; return Make(NanoRnnReluI8H32T20B2.InputSize, NanoRnnReluI8H32T20B2.HiddenSize, NanoRnnReluI8H32T20B2.LayerCount, NanoRnnReluI8H32T20B2.DirectionCount, NanoRnnReluI8H32T20B2.OutputSize, () => { s = new(); return (s.Hidden, null); }, (x, y) => m.Run(x, s!, y), (x, xo, y, yo) => m.Step(x, xo, s!, y, yo), NanoRnnReluI8H32T20B2.ParameterName, NanoRnnReluI8H32T20B2.ParameterLength, NanoRnnReluI8H32T20B2.ParameterCount); }
            case "rnn_tanh_i1_h8_t5_b1": { var m = new NanoRnnTanhI1H8T5B1(p); NanoRnnTanhI1H8T5B1.State? s = null; return Make(NanoRnnTanhI1H8T5B1.InputSize, NanoRnnTanhI1H8T5B1.HiddenSize, NanoRnnTanhI1H8T5B1.LayerCount, NanoRnnTanhI1H8T5B1.DirectionCount, NanoRnnTanhI1H8T5B1.OutputSize, () => { s = new(); return (s.Hidden, null); }, (x, y) => m.Run(x, s!, y), (x, xo, y, yo) => m.Step(x, xo, s!, y, yo), NanoRnnTanhI1H8T5B1.ParameterName, NanoRnnTanhI1H8T5B1.ParameterLength, NanoRnnTanhI1H8T5B1.ParameterCount); }
            case "rnn_tanh_i4_h16_t200_b1": { var m = new NanoRnnTanhI4H16T200B1(p); NanoRnnTanhI4H16T200B1.State? s = null; return Make(NanoRnnTanhI4H16T200B1.InputSize, NanoRnnTanhI4H16T200B1.HiddenSize, NanoRnnTanhI4H16T200B1.LayerCount, NanoRnnTanhI4H16T200B1.DirectionCount, NanoRnnTanhI4H16T200B1.OutputSize, () => { s = new(); return (s.Hidden, null); }, (x, y) => m.Run(x, s!, y), (x, xo, y, yo) => m.Step(x, xo, s!, y, yo), NanoRnnTanhI4H16T200B1.ParameterName, NanoRnnTanhI4H16T200B1.ParameterLength, NanoRnnTanhI4H16T200B1.ParameterCount); }
            case "rnn_tanh_i8_h32_t20_b2": { var m = new NanoRnnTanhI8H32T20B2(p); NanoRnnTanhI8H32T20B2.State? s = null; return Make(NanoRnnTanhI8H32T20B2.InputSize, NanoRnnTanhI8H32T20B2.HiddenSize, NanoRnnTanhI8H32T20B2.LayerCount, NanoRnnTanhI8H32T20B2.DirectionCount, NanoRnnTanhI8H32T20B2.OutputSize, () => { s = new(); return (s.Hidden, null); }, (x, y) => m.Run(x, s!, y), (x, xo, y, yo) => m.Step(x, xo, s!, y, yo), NanoRnnTanhI8H32T20B2.ParameterName, NanoRnnTanhI8H32T20B2.ParameterLength, NanoRnnTanhI8H32T20B2.ParameterCount); }
            case "lstm_head_softmax": { var m = new NanoLstmHeadSoftmax(p); NanoLstmHeadSoftmax.State? s = null; return Make(NanoLstmHeadSoftmax.InputSize, NanoLstmHeadSoftmax.HiddenSize, NanoLstmHeadSoftmax.LayerCount, NanoLstmHeadSoftmax.DirectionCount, NanoLstmHeadSoftmax.OutputSize, () => { s = new(); return (s.Hidden, s.Cell); }, (x, y) => m.Run(x, s!, y), (x, xo, y, yo) => m.Step(x, xo, s!, y, yo), NanoLstmHeadSoftmax.ParameterName, NanoLstmHeadSoftmax.ParameterLength, NanoLstmHeadSoftmax.ParameterCount); }
            case "gru_bidir_head_sigmoid": { var m = new NanoGruBidirHeadSigmoid(p); NanoGruBidirHeadSigmoid.State? s = null; return Make(NanoGruBidirHeadSigmoid.InputSize, NanoGruBidirHeadSigmoid.HiddenSize, NanoGruBidirHeadSigmoid.LayerCount, NanoGruBidirHeadSigmoid.DirectionCount, NanoGruBidirHeadSigmoid.OutputSize, () => { s = new(); return (s.Hidden, null); }, (x, y) => m.Run(x, s!, y), null, NanoGruBidirHeadSigmoid.ParameterName, NanoGruBidirHeadSigmoid.ParameterLength, NanoGruBidirHeadSigmoid.ParameterCount); }
            case "rnn_leaky_deep": { var m = new NanoRnnLeakyDeep(p); NanoRnnLeakyDeep.State? s = null; return Make(NanoRnnLeakyDeep.InputSize, NanoRnnLeakyDeep.HiddenSize, NanoRnnLeakyDeep.LayerCount, NanoRnnLeakyDeep.DirectionCount, NanoRnnLeakyDeep.OutputSize, () => { s = new(); return (s.Hidden, null); }, (x, y) => m.Run(x, s!, y), (x, xo, y, yo) => m.Step(x, xo, s!, y, yo), NanoRnnLeakyDeep.ParameterName, NanoRnnLeakyDeep.ParameterLength, NanoRnnLeakyDeep.ParameterCount); }
            case "rnn_relu_bidir3_head_tanh": { var m = new NanoRnnReluBidir3HeadTanh(p); NanoRnnReluBidir3HeadTanh.State? s = null; return Make(NanoRnnReluBidir3HeadTanh.InputSize, NanoRnnReluBidir3HeadTanh.HiddenSize, NanoRnnReluBidir3HeadTanh.LayerCount, NanoRnnReluBidir3HeadTanh.DirectionCount, NanoRnnReluBidir3HeadTanh.OutputSize, () => { s = new(); return (s.Hidden, null); }, (x, y) => m.Run(x, s!, y), null, NanoRnnReluBidir3HeadTanh.ParameterName, NanoRnnReluBidir3HeadTanh.ParameterLength, NanoRnnReluBidir3HeadTanh.ParameterCount); }
            case "lstm_wide_head": { var m = new NanoLstmWideHead(p); NanoLstmWideHead.State? s = null; return Make(NanoLstmWideHead.InputSize, NanoLstmWideHead.HiddenSize, NanoLstmWideHead.LayerCount, NanoLstmWideHead.DirectionCount, NanoLstmWideHead.OutputSize, () => { s = new(); return (s.Hidden, s.Cell); }, (x, y) => m.Run(x, s!, y), (x, xo, y, yo) => m.Step(x, xo, s!, y, yo), NanoLstmWideHead.ParameterName, NanoLstmWideHead.ParameterLength, NanoLstmWideHead.ParameterCount); }
            case "gru_nobias_bidir": { var m = new NanoGruNobiasBidir(p); NanoGruNobiasBidir.State? s = null; return Make(NanoGruNobiasBidir.InputSize, NanoGruNobiasBidir.HiddenSize, NanoGruNobiasBidir.LayerCount, NanoGruNobiasBidir.DirectionCount, NanoGruNobiasBidir.OutputSize, () => { s = new(); return (s.Hidden, null); }, (x, y) => m.Run(x, s!, y), null, NanoGruNobiasBidir.ParameterName, NanoGruNobiasBidir.ParameterLength, NanoGruNobiasBidir.ParameterCount); }
            case "lstm_bidir2_head_softmax": { var m = new NanoLstmBidir2HeadSoftmax(p); NanoLstmBidir2HeadSoftmax.State? s = null; return Make(NanoLstmBidir2HeadSoftmax.InputSize, NanoLstmBidir2HeadSoftmax.HiddenSize, NanoLstmBidir2HeadSoftmax.LayerCount, NanoLstmBidir2HeadSoftmax.DirectionCount, NanoLstmBidir2HeadSoftmax.OutputSize, () => { s = new(3); return (s.Hidden, s.Cell); }, (x, y) => m.Run(x, s!, y), null, NanoLstmBidir2HeadSoftmax.ParameterName, NanoLstmBidir2HeadSoftmax.ParameterLength, NanoLstmBidir2HeadSoftmax.ParameterCount); }
            default: throw new ArgumentException(name);
        }
    }

    private static Nano Make(int input, int hidden, int layers, int directions, int outputSize, Func<(float[] H, float[]? C)> newState,
        Action<float[], float[]> run, Action<float[], int, float[], int>? step, Func<int, string> name, Func<int, int> length, int count) =>
        new(input, hidden, layers, directions, outputSize, (xs, _, _, ys) => run(xs, ys), step is null ? null : (xs, t, _, _, ys, yo) => step(xs, t, ys, yo), newState, name, length, count);

    public static TheoryData<string> Stems()
    {
        var data = new TheoryData<string>();
        foreach (string stem in ReferenceCase.Stems)
        {
            data.Add(stem);
        }

        return data;
    }

    [Fact]
    public void Every_reference_case_has_a_nano_model()
    {
        Assert.Equal(18, ReferenceCase.Stems.Count());
        foreach (string stem in ReferenceCase.Stems)
        {
            var c = ReferenceCase.Load(stem);
            var model = Wrap(stem, c.ParameterNames.Select(n => c.File.ReadAsSingle(n)).ToArray());
            Assert.Equal(c.ParameterNames, Enumerable.Range(0, model.ParameterCount).Select(model.ParameterName));
        }
    }

    [Theory]
    [MemberData(nameof(Stems))]
    public void Matches_pytorch(string stem)
    {
        var c = ReferenceCase.Load(stem);
        var model = Wrap(stem, c.ParameterNames.Select(n => c.File.ReadAsSingle(n)).ToArray());
        Assert.Equal(c.InputSize, model.Input);
        Assert.Equal(c.OutputSize, model.OutputSize);
        double worst = 0;
        var slots = Enumerable.Range(0, c.Layers * c.Directions).ToArray();
        for (int b = 0; b < c.Batch; b++)
        {
            var h0 = slots.Select(s => c.StateSlice(c.H0, s, b)).ToArray();
            var c0 = c.C0 is null ? null : slots.Select(s => c.StateSlice(c.C0, s, b)).ToArray();
            foreach (bool stepwise in model.CanStep ? new[] { false, true } : new[] { false })
            {
                var (ys, hn, cn) = Execute(model, c.Sequence(b), h0, c0, stepwise);
                string at = $"{stem} nano {(stepwise ? "Step" : "Run")} batch {b}";
                worst = Math.Max(worst, Tolerance.AssertClose(c.ExpectedOutput(b), ys, Tolerance.Forward, at + " output"));
                foreach (int s in slots)
                {
                    worst = Math.Max(worst, Tolerance.AssertClose(c.StateSlice(c.HN, s, b), hn[s], Tolerance.Forward, $"{at} h_n[{s}]"));
                    if (c.CN is not null)
                    {
                        worst = Math.Max(worst, Tolerance.AssertClose(c.StateSlice(c.CN, s, b), cn![s], Tolerance.Forward, $"{at} c_n[{s}]"));
                    }
                }
            }
        }

        output.WriteLine($"{stem} (nanoFramework flavour on desktop .NET): max scaled error {worst:E2}");
    }

    public static TheoryData<string> Derived() => new()
    {
        "lstm_head_softmax", "gru_bidir_head_sigmoid", "rnn_leaky_deep", "rnn_relu_bidir3_head_tanh", "lstm_wide_head", "gru_nobias_bidir",
        "lstm_bidir2_head_softmax",
    };

    [Theory]
    [MemberData(nameof(Derived))]
    public void Matches_the_float64_reference(string name)
    {
        var spec = name == "lstm_bidir2_head_softmax"
            ? new ReferenceSpec("lstm", 3, 7, 2, Bidirectional: true, HeadOutput: 4, HeadActivation: "softmax")
            : DerivedNumericsTests.Describe(name).Spec;
        var random = new Random(name.Length * 104729 + 17);
        float bound = 1f / MathF.Sqrt(spec.HiddenSize);
        const int Steps = 13;
        var values = new Dictionary<string, double[]>();
        var parameters = NanoParameters(name, random, bound, out var names);
        for (int i = 0; i < parameters.Length; i++)
        {
            values[names[i]] = Array.ConvertAll(parameters[i], v => (double)v);
        }

        var model = Wrap(name, parameters);
        var (xs, h0, c0, expected) = ReferenceRnn.RandomScenario(spec, values, Steps, random);
        int slots = spec.Layers * spec.Directions;

        double worst = 0;
        foreach (bool stepwise in model.CanStep ? new[] { false, true } : new[] { false })
        {
            var (ys, hn, cn) = Execute(model, xs, h0, c0, stepwise);
            string at = $"{name} nano {(stepwise ? "Step" : "Run")}";
            worst = Math.Max(worst, Tolerance.AssertClose(expected.Output, ys, Tolerance.Forward, at + " output"));
            for (int s = 0; s < slots; s++)
            {
                worst = Math.Max(worst, Tolerance.AssertClose(expected.HN[s], hn[s], Tolerance.Forward, $"{at} h_n[{s}]"));
                if (c0 is not null)
                {
                    worst = Math.Max(worst, Tolerance.AssertClose(expected.CN[s], cn![s], Tolerance.Forward, $"{at} c_n[{s}]"));
                }
            }
        }

        output.WriteLine($"{name} (nanoFramework flavour on desktop .NET): max scaled error {worst:E2}");
    }

    [Fact]
    public void Baked_weights_match_pytorch()
    {
        var c = ReferenceCase.Load("lstm_i1_h8_t5_b1");
        var baked = NanoLstmBaked.FromBakedWeights();
        var loaded = new NanoLstmI1H8T5B1(c.ParameterNames.Select(n => c.File.ReadAsSingle(n)).ToArray());
        var xs = c.Sequence(0);
        var h0 = c.StateSlice(c.H0, 0, 0);
        var c0 = c.StateSlice(c.C0!, 0, 0);
        var s1 = new NanoLstmBaked.State();
        var s2 = new NanoLstmI1H8T5B1.State();
        h0.CopyTo(s1.Hidden, 0);
        c0.CopyTo(s1.Cell, 0);
        h0.CopyTo(s2.Hidden, 0);
        c0.CopyTo(s2.Cell, 0);
        var y1 = new float[c.Steps * NanoLstmBaked.OutputSize];
        var y2 = new float[y1.Length];
        baked.Run(xs, s1, y1);
        loaded.Run(xs, s2, y2);
        Assert.Equal(y2, y1);
        Tolerance.AssertClose(c.ExpectedOutput(0), y1, Tolerance.Forward, "baked nano output");
    }

    [Fact]
    public void Wrong_parameters_throw_naming_the_tensor()
    {
        var c = ReferenceCase.Load("gru_i1_h8_t5_b1");
        var p = c.ParameterNames.Select(n => c.File.ReadAsSingle(n)).ToArray();
        p[1] = new float[p[1].Length - 1];
        var e = Assert.Throws<ArgumentException>(() => new NanoGruI1H8T5B1(p));
        Assert.Contains("weight_hh_l0", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new NanoGruI1H8T5B1(p.Take(3).ToArray()));
        Assert.Throws<ArgumentNullException>(() => new NanoGruI1H8T5B1(null!));
    }

    [Fact]
    public void Step_and_run_allocate_nothing_after_construction()
    {
        var c = ReferenceCase.Load("lstm_i8_h16_t10_b2_l2");
        var model = new NanoLstmI8H16T10B2L2(c.ParameterNames.Select(n => c.File.ReadAsSingle(n)).ToArray());
        var state = new NanoLstmI8H16T10B2L2.State();
        var xs = c.Sequence(0);
        var ys = new float[c.Steps * NanoLstmI8H16T10B2L2.OutputSize];
        model.Run(xs, state, ys);
        model.Step(xs, 0, state, ys, 0);
        Assert.Equal(0, Allocations.Settled(() =>
        {
            for (int i = 0; i < 10; i++)
            {
                model.Run(xs, state, ys);
                model.Step(xs, 8, state, ys, 16);
            }
        }));

        var bidi = new NanoLstmBidir2HeadSoftmax(Enumerable.Range(0, NanoLstmBidir2HeadSoftmax.ParameterCount).Select(i => new float[NanoLstmBidir2HeadSoftmax.ParameterLength(i)]).ToArray());
        var bidiState = new NanoLstmBidir2HeadSoftmax.State(10);
        var bx = new float[10 * NanoLstmBidir2HeadSoftmax.InputSize];
        var by = new float[10 * NanoLstmBidir2HeadSoftmax.OutputSize];
        Assert.Equal(0, Allocations.Settled(() => bidi.Run(bx, bidiState, by)));
        Assert.All(by, v => Assert.Equal(0.25f, v));
    }

    public static TheoryData<string> StreamModels() => new()
    {
        "lstm_i8_h16_t10_b2_l2", "lstm_i5_h12_t6_b2_nobias", "gru_i8_h32_t20_b2", "gru_before_i4_h20_t6_b2_l2_nobias", "rnn_tanh_i4_h16_t200_b1", "lstm_head_softmax",
    };

    [Theory]
    [MemberData(nameof(StreamModels))]
    public void Multi_stream_step_and_run_equal_the_single_stream_ones_bit_for_bit(string name)
    {
        float[][] p;
        if (ReferenceCase.Stems.Contains(name))
        {
            var c = ReferenceCase.Load(name);
            p = c.ParameterNames.Select(n => c.File.ReadAsSingle(n)).ToArray();
        }
        else
        {
            p = NanoParameters(name, new Random(name.Length), 0.5f, out _);
        }

        switch (name)
        {
            case "lstm_i8_h16_t10_b2_l2": { var m = new NanoLstmI8H16T10B2L2(p); CheckStreams(NanoLstmI8H16T10B2L2.InputSize, NanoLstmI8H16T10B2L2.OutputSize, () => new NanoLstmI8H16T10B2L2.State(), s => s.Hidden, s => s.Cell, m.Step, m.Step, m.Run, m.Run); break; }
            case "lstm_i5_h12_t6_b2_nobias": { var m = new NanoLstmI5H12T6B2Nobias(p); CheckStreams(NanoLstmI5H12T6B2Nobias.InputSize, NanoLstmI5H12T6B2Nobias.OutputSize, () => new NanoLstmI5H12T6B2Nobias.State(), s => s.Hidden, s => s.Cell, m.Step, m.Step, m.Run, m.Run); break; }
            case "gru_i8_h32_t20_b2": { var m = new NanoGruI8H32T20B2(p); CheckStreams(NanoGruI8H32T20B2.InputSize, NanoGruI8H32T20B2.OutputSize, () => new NanoGruI8H32T20B2.State(), s => s.Hidden, _ => null, m.Step, m.Step, m.Run, m.Run); break; }
            case "gru_before_i4_h20_t6_b2_l2_nobias": { var m = new NanoGruBeforeI4H20T6B2L2Nobias(p); CheckStreams(NanoGruBeforeI4H20T6B2L2Nobias.InputSize, NanoGruBeforeI4H20T6B2L2Nobias.OutputSize, () => new NanoGruBeforeI4H20T6B2L2Nobias.State(), s => s.Hidden, _ => null, m.Step, m.Step, m.Run, m.Run); break; }
            case "rnn_tanh_i4_h16_t200_b1": { var m = new NanoRnnTanhI4H16T200B1(p); CheckStreams(NanoRnnTanhI4H16T200B1.InputSize, NanoRnnTanhI4H16T200B1.OutputSize, () => new NanoRnnTanhI4H16T200B1.State(), s => s.Hidden, _ => null, m.Step, m.Step, m.Run, m.Run); break; }
            case "lstm_head_softmax": { var m = new NanoLstmHeadSoftmax(p); CheckStreams(NanoLstmHeadSoftmax.InputSize, NanoLstmHeadSoftmax.OutputSize, () => new NanoLstmHeadSoftmax.State(), s => s.Hidden, s => s.Cell, m.Step, m.Step, m.Run, m.Run); break; }
            default: throw new ArgumentException(name);
        }
    }

    // Five streams from distinct random states, four steps: the multi-stream Step against the single-stream Step on copies of
    // the same states, bit for bit (the same scalar loop); then zero streams, wrong lengths and nulls, and no allocation.
    private static void CheckStreams<TState>(int input, int outputSize, Func<TState> newState, Func<TState, float[]> hidden, Func<TState, float[]?> cell,
        Action<float[], TState[], float[]> steps, Action<float[], int, TState, float[], int> step, Action<float[], TState[], float[]> runs, Action<float[], TState, float[]> run)
    {
        CheckSequences(input, outputSize, newState, hidden, cell, runs, run);
        const int Streams = 5;
        const int Steps = 4;
        var random = new Random(input * 31 + outputSize);
        float Next() => (float)(random.NextDouble() * 2 - 1);
        var (states, alone) = TwinStates(Streams, newState, hidden, cell, Next);

        var xs = new float[Streams * input];
        var ys = new float[Streams * outputSize];
        var x = new float[input];
        var y = new float[outputSize];
        for (int t = 0; t < Steps; t++)
        {
            for (int i = 0; i < xs.Length; i++)
            {
                xs[i] = Next() * 3;
            }

            Array.Fill(ys, float.NaN);
            steps(xs, states, ys);
            for (int s = 0; s < Streams; s++)
            {
                Array.Copy(xs, s * input, x, 0, input);
                step(x, 0, alone[s], y, 0);
                Assert.Equal(Bits(y), Bits(ys.AsSpan(s * outputSize, outputSize).ToArray()));
                Assert.Equal(Bits(hidden(alone[s])), Bits(hidden(states[s])));
                Assert.Equal(Bits(cell(alone[s])), Bits(cell(states[s])));
            }

            // The streams are independent: distinct inputs and states give distinct outputs.
            Assert.NotEqual(ys.AsSpan(0, outputSize).ToArray(), ys.AsSpan(outputSize, outputSize).ToArray());
        }

        // Zero streams is a no-op; one stream is Step.
        steps(Array.Empty<float>(), Array.Empty<TState>(), Array.Empty<float>());
        steps(xs.AsSpan(0, input).ToArray(), new[] { states[0] }, y);
        step(xs, 0, alone[0], ys, 0);
        Assert.Equal(Bits(ys.AsSpan(0, outputSize).ToArray()), Bits(y));
        Assert.Equal(Bits(hidden(alone[0])), Bits(hidden(states[0])));

        // Wrong lengths are refused before any stream moves, naming the array at fault; so are nulls.
        float[] before = hidden(states[0]).ToArray();
        foreach (int xsLength in new[] { xs.Length - 1, xs.Length + 1, xs.Length + input, 0 })
        {
            var e = Assert.Throws<ArgumentException>(() => steps(new float[xsLength], states, ys));
            Assert.Equal("xs", e.ParamName);
        }

        foreach (int ysLength in new[] { ys.Length - 1, ys.Length + 1, ys.Length - outputSize, 0 })
        {
            var e = Assert.Throws<ArgumentException>(() => steps(xs, states, new float[ysLength]));
            Assert.Equal("ys", e.ParamName);
        }

        Assert.Equal("xs", Assert.Throws<ArgumentException>(() => steps(xs, states.Take(Streams - 1).ToArray(), ys)).ParamName);
        Assert.Equal("xs", Assert.Throws<ArgumentException>(() => steps(x, Array.Empty<TState>(), Array.Empty<float>())).ParamName);
        Assert.Equal("ys", Assert.Throws<ArgumentException>(() => steps(Array.Empty<float>(), Array.Empty<TState>(), y)).ParamName);
        Assert.Equal(Bits(before), Bits(hidden(states[0])));
        Assert.Equal("xs", Assert.Throws<ArgumentNullException>(() => steps(null!, states, ys)).ParamName);
        Assert.Equal("states", Assert.Throws<ArgumentNullException>(() => steps(xs, null!, ys)).ParamName);
        Assert.Equal("ys", Assert.Throws<ArgumentNullException>(() => steps(xs, states, null!)).ParamName);
        Assert.Equal("states", Assert.Throws<ArgumentNullException>(() => steps(xs, new TState[Streams], ys)).ParamName);
        var withNull = states.ToArray();
        withNull[Streams - 1] = default!; // the streams before it would move first if the states were checked on the way
        Assert.Equal("states", Assert.Throws<ArgumentNullException>(() => steps(xs, withNull, ys)).ParamName);
        Assert.Equal(Bits(before), Bits(hidden(states[0])));

        steps(xs, states, ys);
        Assert.Equal(0, Allocations.Settled(() => steps(xs, states, ys)));
    }

    // Five sequences of three steps from distinct random states: the multi-sequence Run against the single-sequence Run on
    // copies of the same states, bit for bit (the same scalar steps); then zero sequences, wrong lengths and nulls (refused
    // before any state moves), and no allocation.
    private static void CheckSequences<TState>(int input, int outputSize, Func<TState> newState, Func<TState, float[]> hidden, Func<TState, float[]?> cell,
        Action<float[], TState[], float[]> runs, Action<float[], TState, float[]> run)
    {
        const int Sequences = 5;
        const int Steps = 3;
        var random = new Random(input * 17 + outputSize);
        float Next() => (float)(random.NextDouble() * 2 - 1);
        var (states, alone) = TwinStates(Sequences, newState, hidden, cell, Next);

        var xs = Enumerable.Range(0, Sequences * Steps * input).Select(_ => Next() * 3).ToArray();
        var ys = Enumerable.Repeat(float.NaN, Sequences * Steps * outputSize).ToArray();
        runs(xs, states, ys);
        var x = new float[Steps * input];
        var y = new float[Steps * outputSize];
        for (int s = 0; s < Sequences; s++)
        {
            Array.Copy(xs, s * Steps * input, x, 0, x.Length);
            run(x, alone[s], y);
            Assert.Equal(Bits(y), Bits(ys.AsSpan(s * y.Length, y.Length).ToArray()));
            Assert.Equal(Bits(hidden(alone[s])), Bits(hidden(states[s])));
            Assert.Equal(Bits(cell(alone[s])), Bits(cell(states[s])));
        }

        Assert.NotEqual(ys.AsSpan(0, y.Length).ToArray(), ys.AsSpan(y.Length, y.Length).ToArray());

        // Zero sequences, and sequences of zero steps, are no-ops.
        runs(Array.Empty<float>(), Array.Empty<TState>(), Array.Empty<float>());
        float[] before = hidden(states[0]).ToArray();
        runs(Array.Empty<float>(), states, Array.Empty<float>());
        Assert.Equal(Bits(before), Bits(hidden(states[0])));

        // Wrong lengths, nulls and a null state are refused before any sequence moves, naming what is at fault.
        foreach (int xsLength in new[] { xs.Length - 1, xs.Length + 1, xs.Length + input })
        {
            Assert.Equal("xs", Assert.Throws<ArgumentException>(() => runs(new float[xsLength], states, ys)).ParamName);
        }

        foreach (int ysLength in new[] { ys.Length - 1, ys.Length + 1, ys.Length - outputSize, 0 })
        {
            Assert.Equal("ys", Assert.Throws<ArgumentException>(() => runs(xs, states, new float[ysLength])).ParamName);
        }

        Assert.Equal("xs", Assert.Throws<ArgumentNullException>(() => runs(null!, states, ys)).ParamName);
        Assert.Equal("states", Assert.Throws<ArgumentNullException>(() => runs(xs, null!, ys)).ParamName);
        Assert.Equal("ys", Assert.Throws<ArgumentNullException>(() => runs(xs, states, null!)).ParamName);
        var withNull = states.ToArray();
        withNull[Sequences - 1] = default!;
        Assert.Equal("states", Assert.Throws<ArgumentNullException>(() => runs(xs, withNull, ys)).ParamName);
        Assert.Equal(Bits(before), Bits(hidden(states[0])));

        runs(xs, states, ys);
        Assert.Equal(0, Allocations.Settled(() => runs(xs, states, ys)));
    }

    // count random states (h in [-1, 1), c in [-2, 2)) and a copy of each, to advance one way and the other.
    private static (TState[] States, TState[] Copies) TwinStates<TState>(int count, Func<TState> newState, Func<TState, float[]> hidden,
        Func<TState, float[]?> cell, Func<float> next)
    {
        var states = Enumerable.Range(0, count).Select(_ => newState()).ToArray();
        var copies = Enumerable.Range(0, count).Select(_ => newState()).ToArray();
        for (int s = 0; s < count; s++)
        {
            float[] h = hidden(states[s]);
            float[]? c = cell(states[s]);
            for (int i = 0; i < h.Length; i++)
            {
                h[i] = next();
                if (c is not null)
                {
                    c[i] = next() * 2;
                }
            }

            h.CopyTo(hidden(copies[s]), 0);
            c?.CopyTo(cell(copies[s])!, 0);
        }

        return (states, copies);
    }

    private static int[]? Bits(float[]? values) => values is null ? null : Array.ConvertAll(values, BitConverter.SingleToInt32Bits);

    [Fact]
    public void Softmax_equals_the_runtime_softmax_bit_for_bit()
    {
        // The nano Exp (a softmax head's only) builds 2^n by squaring instead of writing the exponent bits, which is exact:
        // with every weight zero the head gives softmax(head.bias), bit for bit the runtime's Softmax (so ExpOperator).
        var p = new float[NanoLstmHeadSoftmax.ParameterCount][];
        for (int i = 0; i < p.Length; i++)
        {
            p[i] = new float[NanoLstmHeadSoftmax.ParameterLength(i)];
        }

        int headBias = Enumerable.Range(0, p.Length).Single(i => NanoLstmHeadSoftmax.ParameterName(i) == "head.bias");
        var model = new NanoLstmHeadSoftmax(p);
        var random = new Random(7);
        var x = new float[NanoLstmHeadSoftmax.InputSize];
        var y = new float[NanoLstmHeadSoftmax.OutputSize];
        for (int trial = 0; trial < 2000; trial++)
        {
            for (int j = 0; j < y.Length; j++)
            {
                p[headBias][j] = (float)(random.NextDouble() * 200 - 100) * (trial % 3 == 0 ? 0.01f : 1f);
            }

            float[] expected = (float[])p[headBias].Clone();
            Softmax.InPlace(expected);
            model.Step(x, new NanoLstmHeadSoftmax.State(), y);
            Assert.Equal(expected, y);
        }
    }

    [Fact]
    public void Tanh_equals_the_runtime_scalar_tanh_bit_for_bit()
    {
        // The nano Tanh spells the runtime's rational form with every intermediate rounded to float: a model with zero
        // weights and bias_hh gives h = tanh(bias_ih), bit for bit the runtime's scalar TanhOperator.
        var p = new float[NanoRnnTanhI1H8T5B1.ParameterCount][];
        for (int i = 0; i < p.Length; i++)
        {
            p[i] = new float[NanoRnnTanhI1H8T5B1.ParameterLength(i)];
        }

        var model = new NanoRnnTanhI1H8T5B1(p);
        var random = new Random(5);
        var x = new float[1];
        var y = new float[NanoRnnTanhI1H8T5B1.OutputSize];
        for (int trial = 0; trial < 2000; trial++)
        {
            for (int j = 0; j < 8; j++)
            {
                p[2][j] = (float)(random.NextDouble() * 100 - 50) * (trial % 3 == 0 ? 0.01f : 1f);
            }

            var state = new NanoRnnTanhI1H8T5B1.State();
            model.Step(x, state, y);
            for (int j = 0; j < 8; j++)
            {
                Assert.Equal(TanhOperator.Invoke(p[2][j]), y[j]);
            }
        }
    }

    private static float[][] NanoParameters(string name, Random random, float bound, out string[] names)
    {
        // Shapes from the nano class itself: zero-filled probe, then sized arrays of random values.
        var sizes = Wrap(name, ZeroParameters(name));
        names = Enumerable.Range(0, sizes.ParameterCount).Select(sizes.ParameterName).ToArray();
        return Enumerable.Range(0, sizes.ParameterCount)
            .Select(i => Enumerable.Range(0, sizes.ParameterLength(i)).Select(_ => (float)(random.NextDouble() * 2 - 1) * bound * 2).ToArray())
            .ToArray();
    }

    private static float[][] ZeroParameters(string name)
    {
        int[] lengths = name switch
        {
            "lstm_head_softmax" => Lengths(NanoLstmHeadSoftmax.ParameterCount, NanoLstmHeadSoftmax.ParameterLength),
            "gru_bidir_head_sigmoid" => Lengths(NanoGruBidirHeadSigmoid.ParameterCount, NanoGruBidirHeadSigmoid.ParameterLength),
            "rnn_leaky_deep" => Lengths(NanoRnnLeakyDeep.ParameterCount, NanoRnnLeakyDeep.ParameterLength),
            "rnn_relu_bidir3_head_tanh" => Lengths(NanoRnnReluBidir3HeadTanh.ParameterCount, NanoRnnReluBidir3HeadTanh.ParameterLength),
            "lstm_wide_head" => Lengths(NanoLstmWideHead.ParameterCount, NanoLstmWideHead.ParameterLength),
            "gru_nobias_bidir" => Lengths(NanoGruNobiasBidir.ParameterCount, NanoGruNobiasBidir.ParameterLength),
            "lstm_bidir2_head_softmax" => Lengths(NanoLstmBidir2HeadSoftmax.ParameterCount, NanoLstmBidir2HeadSoftmax.ParameterLength),
            _ => throw new ArgumentException(name),
        };
        return lengths.Select(n => new float[n]).ToArray();
    }

    private static int[] Lengths(int count, Func<int, int> length) => Enumerable.Range(0, count).Select(length).ToArray();

    // Sets the state from h0/c0, runs (Run, or Step per time step) and returns the outputs and final state per slot.
    private static (float[] Ys, float[][] HN, float[][]? CN) Execute(Nano model, float[] xs, float[][] h0, float[][]? c0, bool stepwise)
    {
        var (h, c) = model.NewState();
        for (int s = 0; s < h0.Length; s++)
        {
            h0[s].CopyTo(h, s * model.Hidden);
            if (c0 is not null)
            {
                c0[s].CopyTo(c!, s * model.Hidden);
            }
        }

        int steps = xs.Length / model.Input;
        var ys = new float[steps * model.OutputSize];
        if (stepwise)
        {
            for (int t = 0; t < steps; t++)
            {
                model.Step(xs, t * model.Input, h, c, ys, t * model.OutputSize);
            }
        }
        else
        {
            model.Run(xs, h, c, ys);
        }

        var hn = Enumerable.Range(0, h0.Length).Select(s => h.AsSpan(s * model.Hidden, model.Hidden).ToArray()).ToArray();
        var cn = c is null ? null : Enumerable.Range(0, h0.Length).Select(s => c.AsSpan(s * model.Hidden, model.Hidden).ToArray()).ToArray();
        return (ys, hn, cn);
    }
}
