using Embedded.Rnn.Tests.Support;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;
using Xunit.Abstractions;

namespace Embedded.Rnn.Tests;

/// <summary>
/// The reset-before GRU's references (refs/gru_before_*, made by refs/make_gru_reset_before.py with NumPy) against ONNX
/// Runtime executing the same models as ONNX GRU nodes with linear_before_reset=0 (refs/onnx): the equations come from
/// ONNX's definition, not from our reading of it. The kernels themselves are checked against these references on every
/// path by ReferenceNumericsTests, GradientTests and NanoFrameworkParityTests like every other case.
/// </summary>
public sealed class GruResetBeforeTests(ITestOutputHelper output)
{
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (string stem in ReferenceCase.Stems.Where(s => s.StartsWith("gru_before_", StringComparison.Ordinal)))
        {
            data.Add(stem);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_references_match_onnx_runtime(string stem)
    {
        var c = ReferenceCase.Load(stem);
        using var session = new InferenceSession(Path.Combine(ReferenceCase.Directory, "onnx", stem + ".onnx"));
        var inputs = new List<NamedOnnxValue> { NamedOnnxValue.CreateFromTensor("input", new DenseTensor<float>(c.Input, [c.Steps, c.Batch, c.InputSize])) };
        int perLayer = c.Directions * c.Batch * c.HiddenSize;
        for (int layer = 0; layer < c.Layers; layer++)
        {
            var h0 = c.H0.AsSpan(layer * perLayer, perLayer).ToArray();
            inputs.Add(NamedOnnxValue.CreateFromTensor($"h0_l{layer}", new DenseTensor<float>(h0, [c.Directions, c.Batch, c.HiddenSize])));
        }

        using var results = session.Run(inputs);
        var ours = results.First(r => r.Name == "output").AsEnumerable<float>().ToArray();
        double worst = Tolerance.AssertClose(c.Output, ours, Tolerance.Forward, $"{stem}: ONNX Runtime's output");
        for (int layer = 0; layer < c.Layers; layer++)
        {
            var hn = results.First(r => r.Name == $"h_n_l{layer}").AsEnumerable<float>().ToArray();
            worst = Math.Max(worst, Tolerance.AssertClose(c.HN.AsSpan(layer * perLayer, perLayer), hn, Tolerance.Forward, $"{stem}: ONNX Runtime's h_n of layer {layer}"));
        }

        output.WriteLine($"{stem}: ONNX Runtime (linear_before_reset=0) vs the float64 reference: max scaled error {worst:E2}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_cases_tell_the_two_gru_conventions_apart(string stem)
    {
        // Computed with PyTorch's reset-after equations, the same weights give outputs far outside the bar: a kernel that
        // applied the reset after the product could not pass these cases.
        var c = ReferenceCase.Load(stem);
        var spec = new ReferenceSpec("gru", c.InputSize, c.HiddenSize, c.Layers, c.Directions == 2, c.ParameterNames.Any(n => n.StartsWith("bias", StringComparison.Ordinal)));
        var slots = Enumerable.Range(0, c.Layers * c.Directions).ToArray();
        var resetAfter = ReferenceRnn.Run(spec, c.Parameters(), Array.ConvertAll(c.Sequence(0), v => (double)v),
            slots.Select(s => Array.ConvertAll(c.StateSlice(c.H0, s, 0), v => (double)v)).ToArray(), null).Output;
        var expected = c.ExpectedOutput(0);
        double largest = expected.Select((value, i) => Math.Abs(value - resetAfter[i])).Max();
        Assert.True(largest > 1e-3, $"{stem}: the reset-after GRU differs by only {largest:E2}");
    }
}
