using Embedded.Rnn.Safetensors;
using Embedded.Rnn.Tests.Models;
using Embedded.Rnn.Tests.Support;
using Embedded.Rnn.Training;
using Xunit;

namespace Embedded.Rnn.Tests;

/// <summary>
/// The backward kernels of every cell, the head and leaky ReLU against central finite differences of the
/// float64 reference forward pass, on every path: the gradients configurations without a PyTorch reference have.
/// </summary>
public sealed class FiniteDifferenceTests
{
    private const int Steps = 6;
    private const int SamplesPerTensor = 12;

    public static TheoryData<string, KernelPath> ModelsAndPaths() => DerivedNumericsTests.ModelsAndPaths();

    [Theory]
    [MemberData(nameof(ModelsAndPaths))]
    public void Backward_matches_finite_differences(string model, KernelPath path)
    {
        var (spec, parameters) = DerivedNumericsTests.Describe(model);
        var random = new Random(model.Length * 31 + (int)path);
        var (weights, values) = DerivedNumericsTests.RandomParameters(parameters, random, 2f / MathF.Sqrt(spec.HiddenSize));
        var xs = Enumerable.Range(0, Steps * spec.InputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        int outputs = spec.HeadOutput > 0 ? spec.HeadOutput : spec.Directions * spec.HiddenSize;
        var cotangent = Enumerable.Range(0, Steps * outputs).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var trainable = DerivedNumericsTests.Load(model, weights, path);

        var backprop = new SequenceBackprop(trainable, Steps);
        backprop.Forward(xs);
        backprop.Backward(cotangent);
        var gradients = trainable.ParameterSpecs.Select(p => new float[p.ElementCount]).ToArray();
        trainable.AccumulateGradients(backprop.PackedGradients, gradients);

        double Loss()
        {
            int slots = spec.Layers * spec.Directions;
            var zeros = Enumerable.Range(0, slots).Select(_ => new double[spec.HiddenSize]).ToArray();
            var y = ReferenceRnn.Run(spec, values, Array.ConvertAll(xs, v => (double)v), zeros, spec.Cell == "lstm" ? zeros : null).Output;
            return y.Select((v, i) => v * cotangent[i]).Sum();
        }

        const double h = 1e-5;
        for (int k = 0; k < parameters.Count; k++)
        {
            var tensor = values[parameters[k].Name];
            foreach (int i in Enumerable.Range(0, SamplesPerTensor).Select(_ => random.Next(tensor.Length)))
            {
                double saved = tensor[i];
                tensor[i] = saved + h;
                double up = Loss();
                tensor[i] = saved - h;
                double down = Loss();
                tensor[i] = saved;
                double expected = (up - down) / (2 * h);
                double error = Math.Abs(gradients[k][i] - expected) / Math.Max(1, Math.Abs(expected));
                Assert.True(error <= GradientTests.Bound, $"{model} {path} d/d {parameters[k].Name}[{i}]: got {gradients[k][i]}, finite difference {expected}");
            }
        }

        // The input gradient, too.
        for (int i = 0; i < xs.Length; i += 3)
        {
            float saved = xs[i];
            xs[i] = saved + (float)h;
            double up = Loss();
            xs[i] = saved - (float)h;
            double down = Loss();
            xs[i] = saved;
            double expected = (up - down) / ((double)(saved + (float)h) - (saved - (float)h));
            Assert.True(Math.Abs(backprop.InputGradient[i] - expected) <= 1e-3 * Math.Max(1, Math.Abs(expected)), $"{model} {path} d/dx[{i}]: got {backprop.InputGradient[i]}, finite difference {expected}");
        }
    }
}
