using Embedded.Rnn.Tests.Support;
using Embedded.Rnn.Training;
using Xunit;
using Xunit.Abstractions;

namespace Embedded.Rnn.Tests;

/// <summary>
/// BPTT on the generated backward kernels against PyTorch's autograd: for every reference case and every
/// path, d loss / d every parameter, the input, h0 and c0 for loss = Σ output · grad_output, within
/// 1e-4·max(1, |ref|).
/// </summary>
public sealed class GradientTests(ITestOutputHelper output)
{
    public const double Bound = 1e-4;

    public static TheoryData<string, KernelPath> CasesAndPaths()
    {
        var data = new TheoryData<string, KernelPath>();
        foreach (string stem in ReferenceCase.Stems)
        {
            foreach (var path in Enum.GetValues<KernelPath>())
            {
                data.Add(stem, path);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CasesAndPaths))]
    public void Gradients_match_pytorch(string stem, KernelPath path)
    {
        var c = ReferenceCase.Load(stem);
        var model = ReferenceModels.Accept(stem, c.ParameterFile(), path, new Trainable());
        var backprop = new SequenceBackprop(model, c.Steps);
        var gradOutput = c.File.ReadAsSingle("grad_output");
        int slots = c.Layers * c.Directions;
        double worst = 0;
        var dInput = new double[c.Steps * c.Batch * c.InputSize];
        for (int b = 0; b < c.Batch; b++)
        {
            for (int s = 0; s < slots; s++)
            {
                c.StateSlice(c.H0, s, b).CopyTo(backprop.InitialHidden(s / c.Directions, s % c.Directions));
                if (c.C0 is not null)
                {
                    c.StateSlice(c.C0, s, b).CopyTo(backprop.InitialCell(s / c.Directions, s % c.Directions));
                }
            }

            var outputs = backprop.Forward(c.Sequence(b));
            worst = Math.Max(worst, Tolerance.AssertClose(c.ExpectedOutput(b), outputs, Tolerance.Forward, $"{stem} training forward b{b}"));
            var dy = new float[c.Steps * c.OutputSize];
            for (int t = 0; t < c.Steps; t++)
            {
                gradOutput.AsSpan((t * c.Batch + b) * c.OutputSize, c.OutputSize).CopyTo(dy.AsSpan(t * c.OutputSize));
            }

            backprop.Backward(dy);
            var expectedInput = ReferenceCase.Gather(c.File.ReadAsDouble("grad.input"), c.Steps, c.Batch, c.InputSize, b);
            worst = Math.Max(worst, Tolerance.AssertClose(expectedInput, backprop.InputGradient.AsSpan(0, c.Steps * c.InputSize), Bound, $"{stem} grad.input b{b}"));
            for (int s = 0; s < slots; s++)
            {
                worst = Math.Max(worst, Tolerance.AssertClose(c.StateSlice(c.File.ReadAsDouble("grad.h0"), s, b),
                    backprop.HiddenGradient.AsSpan(s * KernelLayout.Padded(c.HiddenSize), c.HiddenSize), Bound, $"{stem} grad.h0[{s}] b{b}"));
                if (c.C0 is not null)
                {
                    worst = Math.Max(worst, Tolerance.AssertClose(c.StateSlice(c.File.ReadAsDouble("grad.c0"), s, b),
                        backprop.CellGradient.AsSpan(s * KernelLayout.Padded(c.HiddenSize), c.HiddenSize), Bound, $"{stem} grad.c0[{s}] b{b}"));
                }
            }
        }

        var parameterGradients = model.ParameterSpecs.Select(p => new float[p.ElementCount]).ToArray();
        model.AccumulateGradients(backprop.PackedGradients, parameterGradients);
        for (int i = 0; i < parameterGradients.Length; i++)
        {
            string name = model.ParameterSpecs[i].Name;
            worst = Math.Max(worst, Tolerance.AssertClose(c.File.ReadAsDouble("grad." + name), parameterGradients[i], Bound, $"{stem} grad.{name}"));
        }

        output.WriteLine($"{stem} on {path}: max scaled gradient error {worst:E2}");
    }

    /// <summary>
    /// The trainer's lockstep path: every case's sequences, repeated until there are at least 5 (a group of 4 through the
    /// streams backward kernel and the rest one by one), forward and back together. Each stream's outputs and input and
    /// initial-state gradients match its PyTorch sequence; the weight gradients match the batch's times the repeats.
    /// </summary>
    [Theory]
    [MemberData(nameof(CasesAndPaths))]
    public void Gradients_of_sequences_in_lockstep_match_pytorch(string stem, KernelPath path)
    {
        var c = ReferenceCase.Load(stem);
        var model = ReferenceModels.Accept(stem, c.ParameterFile(), path, new Trainable());
        int repeats = (5 + c.Batch - 1) / c.Batch;
        int streams = repeats * c.Batch;
        var backprop = new SequenceBackprop(model, c.Steps, streams);
        int slots = c.Layers * c.Directions;
        var randoms = new DeterministicRandom[streams];
        for (int n = 0; n < streams; n++)
        {
            int b = n % c.Batch;
            c.Sequence(b).CopyTo(backprop.StreamInputs(n, c.Steps));
            for (int s = 0; s < slots; s++)
            {
                c.StateSlice(c.H0, s, b).CopyTo(backprop.InitialHidden(s / c.Directions, s % c.Directions, n));
                if (c.C0 is not null)
                {
                    c.StateSlice(c.C0, s, b).CopyTo(backprop.InitialCell(s / c.Directions, s % c.Directions, n));
                }
            }
        }

        backprop.Forward(streams, c.Steps, 0f, randoms);
        var gradOutput = c.File.ReadAsSingle("grad_output");
        int stride = c.Steps * c.OutputSize;
        var dy = new float[streams * stride];
        double worst = 0;
        for (int n = 0; n < streams; n++)
        {
            int b = n % c.Batch;
            worst = Math.Max(worst, Tolerance.AssertClose(c.ExpectedOutput(b), backprop.StreamOutputs(n), Tolerance.Forward, $"{stem} lockstep forward stream {n}"));
            for (int t = 0; t < c.Steps; t++)
            {
                gradOutput.AsSpan((t * c.Batch + b) * c.OutputSize, c.OutputSize).CopyTo(dy.AsSpan(n * stride + t * c.OutputSize));
            }
        }

        backprop.Backward(dy, stride, gradientIsPreActivation: false);
        int hp = KernelLayout.Padded(c.HiddenSize);
        for (int n = 0; n < streams; n++)
        {
            int b = n % c.Batch;
            var expectedInput = ReferenceCase.Gather(c.File.ReadAsDouble("grad.input"), c.Steps, c.Batch, c.InputSize, b);
            worst = Math.Max(worst, Tolerance.AssertClose(expectedInput, backprop.InputGradient.AsSpan(n * c.Steps * c.InputSize, c.Steps * c.InputSize), Bound, $"{stem} grad.input stream {n}"));
            for (int s = 0; s < slots; s++)
            {
                worst = Math.Max(worst, Tolerance.AssertClose(c.StateSlice(c.File.ReadAsDouble("grad.h0"), s, b),
                    backprop.HiddenGradient.AsSpan((s * streams + n) * hp, c.HiddenSize), Bound, $"{stem} grad.h0[{s}] stream {n}"));
                if (c.C0 is not null)
                {
                    worst = Math.Max(worst, Tolerance.AssertClose(c.StateSlice(c.File.ReadAsDouble("grad.c0"), s, b),
                        backprop.CellGradient.AsSpan((s * streams + n) * hp, c.HiddenSize), Bound, $"{stem} grad.c0[{s}] stream {n}"));
                }
            }
        }

        var parameterGradients = model.ParameterSpecs.Select(p => new float[p.ElementCount]).ToArray();
        model.AccumulateGradients(backprop.PackedGradients, parameterGradients);
        for (int i = 0; i < parameterGradients.Length; i++)
        {
            string name = model.ParameterSpecs[i].Name;
            var expected = c.File.ReadAsDouble("grad." + name).Select(g => g * repeats).ToArray();
            worst = Math.Max(worst, Tolerance.AssertClose(expected, parameterGradients[i], Bound, $"{stem} grad.{name} × {repeats}"));
        }

        output.WriteLine($"{stem} on {path}, {streams} streams in lockstep: max scaled gradient error {worst:E2}");
    }

    /// <summary>
    /// The streams backward kernel against the same kernel one stream at a time, in order, for 1 to 9 streams (groups of 4
    /// and every remainder), every layer and direction: the weight gradient, dx, dL/dh_{t-1} and dL/dc_{t-1} are equal bit for bit.
    /// </summary>
    [Theory]
    [MemberData(nameof(CasesAndPaths))]
    public void Streams_backward_equals_one_stream_at_a_time_bit_for_bit(string stem, KernelPath path)
    {
        var c = ReferenceCase.Load(stem);
        var model = ReferenceModels.Accept(stem, c.ParameterFile(), path, new Trainable());
        int hp = KernelLayout.Padded(c.HiddenSize);
        int tapeLength = model.TapeLength;
        var random = new Random(stem.Length * 31 + (int)path);
        float[] Random(int streams, int stride, int used) => RandomStreams(random, streams, stride, used);

        for (int layer = 0; layer < c.Layers; layer++)
        {
            for (int direction = 0; direction < c.Directions; direction++)
            {
                int width = layer == 0 ? c.InputSize : c.Directions * c.HiddenSize;
                int slot = layer * c.Directions + direction;
                for (int streams = 1; streams <= 9; streams++)
                {
                    var x = Random(streams, width, width);
                    var h = Random(streams, hp, c.HiddenSize);
                    var cell = Random(streams, hp, c.HiddenSize);
                    var tape = new float[streams * tapeLength];
                    var hNew = new float[streams * hp];
                    var cNew = new float[streams * hp];
                    model.ForwardSteps(layer, direction, streams, ref x[0], width, ref h[0], ref cell[0], ref tape[0], ref hNew[0], ref cNew[0]);

                    var dh = Random(streams, hp, c.HiddenSize);
                    var dc = Random(streams, hp, c.HiddenSize);
                    var together = (Gradient: new float[model.PackedLengths[slot]], Dc: (float[])dc.Clone(), Dx: new float[streams * width], DhPrevious: new float[streams * hp]);
                    var apart = (Gradient: new float[model.PackedLengths[slot]], Dc: (float[])dc.Clone(), Dx: new float[streams * width], DhPrevious: new float[streams * hp]);
                    model.BackwardSteps(layer, direction, streams, together.Gradient, ref x[0], width, ref h[0], ref cell[0], ref tape[0],
                        ref dh[0], ref together.Dc[0], ref together.Dx[0], ref together.DhPrevious[0]);
                    for (int n = 0; n < streams; n++)
                    {
                        model.BackwardSteps(layer, direction, 1, apart.Gradient, ref x[n * width], width, ref h[n * hp], ref cell[n * hp], ref tape[n * tapeLength],
                            ref dh[n * hp], ref apart.Dc[n * hp], ref apart.Dx[n * width], ref apart.DhPrevious[n * hp]);
                    }

                    string what = $"{stem} on {path}, layer {layer} direction {direction}, {streams} streams";
                    Assert.True(apart.Gradient.AsSpan().SequenceEqual(together.Gradient), what + ": weight gradient");
                    Assert.True(apart.Dx.AsSpan().SequenceEqual(together.Dx), what + ": dx");
                    Assert.True(apart.DhPrevious.AsSpan().SequenceEqual(together.DhPrevious), what + ": dL/dh_{t-1}");
                    Assert.True(apart.Dc.AsSpan().SequenceEqual(together.Dc), what + ": dL/dc_{t-1}");
                    Assert.Contains(together.Gradient, g => g != 0f);
                }
            }
        }
    }

    /// <summary>
    /// The streams record kernel for 1 to 9 streams (groups and every remainder), every layer and direction, against the
    /// same step one stream at a time: new h, new c and the tape agree within 1e-6 scaled. The group sums each column in
    /// turn where one stream's tile keeps partial sums, so they may differ in the last bits; the bound is a few roundings
    /// of sums of up to 160 products, passed through the activations. Only Vector512 groups streams (the other paths record
    /// one stream at a time: ModelFacts.GroupedRecordWidth), so elsewhere the two are the same bits.
    /// </summary>
    [Theory]
    [MemberData(nameof(CasesAndPaths))]
    public void Streams_forward_agrees_with_one_stream_at_a_time(string stem, KernelPath path)
    {
        var c = ReferenceCase.Load(stem);
        var model = ReferenceModels.Accept(stem, c.ParameterFile(), path, new Trainable());
        int hp = KernelLayout.Padded(c.HiddenSize);
        int tapeLength = model.TapeLength;
        var random = new Random(stem.Length * 17 + (int)path);
        float[] Random(int streams, int stride, int used) => RandomStreams(random, streams, stride, used);

        double worst = 0;
        for (int layer = 0; layer < c.Layers; layer++)
        {
            for (int direction = 0; direction < c.Directions; direction++)
            {
                int width = layer == 0 ? c.InputSize : c.Directions * c.HiddenSize;
                for (int streams = 1; streams <= 9; streams++)
                {
                    // Inputs a whole step apart plus some, as the trainer's sequences are.
                    int xStride = width + 3;
                    var x = Random(streams, xStride, width);
                    var h = Random(streams, hp, c.HiddenSize);
                    var cell = Random(streams, hp, c.HiddenSize);
                    var together = (Tape: new float[streams * tapeLength], H: new float[streams * hp], C: new float[streams * hp]);
                    var apart = (Tape: new float[streams * tapeLength], H: new float[streams * hp], C: new float[streams * hp]);
                    model.ForwardSteps(layer, direction, streams, ref x[0], xStride, ref h[0], ref cell[0], ref together.Tape[0], ref together.H[0], ref together.C[0]);
                    for (int n = 0; n < streams; n++)
                    {
                        model.ForwardSteps(layer, direction, 1, ref x[n * xStride], xStride, ref h[n * hp], ref cell[n * hp], ref apart.Tape[n * tapeLength], ref apart.H[n * hp], ref apart.C[n * hp]);
                    }

                    string what = $"{stem} on {path}, layer {layer} direction {direction}, {streams} streams";
                    if (path != KernelPath.Vector512)
                    {
                        Assert.Equal(apart.H, together.H);
                        Assert.Equal(apart.C, together.C);
                        Assert.Equal(apart.Tape, together.Tape);
                    }

                    worst = Math.Max(worst, Tolerance.AssertClose(Tolerance.Wide(apart.H), together.H, 1e-6, what + ": h"));
                    worst = Math.Max(worst, Tolerance.AssertClose(Tolerance.Wide(apart.C), together.C, 1e-6, what + ": c"));
                    worst = Math.Max(worst, Tolerance.AssertClose(Tolerance.Wide(apart.Tape), together.Tape, 1e-6, what + ": tape"));
                    Assert.Contains(together.H, v => v != 0f);
                }
            }
        }

        output.WriteLine($"{stem} on {path}: streams forward against one stream at a time, max scaled difference {worst:E2}");
    }

    // Each stream's first `used` floats of `stride` uniform in [-1, 1), the padding zero.
    private static float[] RandomStreams(Random random, int streams, int stride, int used)
    {
        var values = new float[streams * stride];
        for (int n = 0; n < streams; n++)
        {
            for (int i = 0; i < used; i++)
            {
                values[n * stride + i] = (float)(random.NextDouble() * 2 - 1);
            }
        }

        return values;
    }

    private sealed class Trainable : IModelVisitor<ITrainableRnnModel>
    {
        public ITrainableRnnModel Visit<TState>(IRnnModel<TState> model)
            where TState : struct, IRnnState => (ITrainableRnnModel)model;
    }
}
