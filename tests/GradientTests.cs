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

    private sealed class Trainable : IModelVisitor<ITrainableRnnModel>
    {
        public ITrainableRnnModel Visit<TState>(IRnnModel<TState> model)
            where TState : struct, IRnnState => (ITrainableRnnModel)model;
    }
}
