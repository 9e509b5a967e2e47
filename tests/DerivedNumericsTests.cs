using Embedded.Rnn.Safetensors;
using Embedded.Rnn.Tests.Models;
using Embedded.Rnn.Tests.Support;
using Xunit;

namespace Embedded.Rnn.Tests;

/// <summary>
/// Heads, leaky ReLU, deep and bidirectional stacks and awkward sizes, on every path, against the float64
/// reference implementation (itself checked against PyTorch) with random weights, inputs and states.
/// </summary>
public sealed class DerivedNumericsTests
{
    private const int Steps = 13;

    public static TheoryData<string, KernelPath> ModelsAndPaths()
    {
        var data = new TheoryData<string, KernelPath>();
        foreach (string model in new[] { "lstm_head_softmax", "gru_bidir_head_sigmoid", "rnn_leaky_deep", "rnn_relu_bidir3_head_tanh", "lstm_wide_head", "gru_nobias_bidir", "gru_same_width_deep" })
        {
            foreach (var path in Enum.GetValues<KernelPath>())
            {
                data.Add(model, path);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ModelsAndPaths))]
    public void Matches_the_float64_reference(string model, KernelPath path)
    {
        var (spec, parameters) = Describe(model);
        var random = new Random(model.Length * 7919 + (int)path);
        var (weights, values) = RandomParameters(parameters, random, 2f / MathF.Sqrt(spec.HiddenSize));
        var (xs, h0, c0, expected) = ReferenceRnn.RandomScenario(spec, values, Steps, random);
        int slots = spec.Layers * spec.Directions;

        var got = model switch
        {
            "lstm_head_softmax" => ModelHarness.Run(LstmHeadSoftmax.FromSafetensors(weights, path), xs, h0, c0),
            "gru_bidir_head_sigmoid" => ModelHarness.Run(GruBidirHeadSigmoid.FromSafetensors(weights, path), xs, h0, c0),
            "rnn_leaky_deep" => ModelHarness.Run(RnnLeakyDeep.FromSafetensors(weights, path), xs, h0, c0),
            "rnn_relu_bidir3_head_tanh" => ModelHarness.Run(RnnReluBidir3HeadTanh.FromSafetensors(weights, path), xs, h0, c0),
            "lstm_wide_head" => ModelHarness.Run(LstmWideHead.FromSafetensors(weights, path), xs, h0, c0),
            "gru_same_width_deep" => ModelHarness.Run(GruSameWidthDeep.FromSafetensors(weights, path), xs, h0, c0),
            _ => ModelHarness.Run(GruNobiasBidir.FromSafetensors(weights, path), xs, h0, c0),
        };

        Tolerance.AssertClose(expected.Output, got.Output, Tolerance.Forward, $"{model} {path} output");
        for (int s = 0; s < slots; s++)
        {
            Tolerance.AssertClose(expected.HN[s], got.HN[s], Tolerance.Forward, $"{model} {path} h_n[{s}]");
            if (c0 is not null)
            {
                Tolerance.AssertClose(expected.CN[s], got.CN![s], Tolerance.Forward, $"{model} {path} c_n[{s}]");
            }
        }
    }

    /// <summary>Uniform random parameters in ±bound, as a safetensors file for the model and as float64 for the reference.</summary>
    internal static (byte[] File, Dictionary<string, double[]> Values) RandomParameters(IReadOnlyList<ParameterSpec> parameters, Random random, float bound)
    {
        var writer = new SafetensorsWriter();
        var values = new Dictionary<string, double[]>();
        foreach (var p in parameters)
        {
            var v = Enumerable.Range(0, p.ElementCount).Select(_ => (float)(random.NextDouble() * 2 - 1) * bound).ToArray();
            writer.Add(p.Name, v, p.Shape.Select(d => (long)d).ToArray());
            values[p.Name] = Array.ConvertAll(v, x => (double)x);
        }

        return (writer.ToArray(), values);
    }

    internal static (ReferenceSpec Spec, IReadOnlyList<ParameterSpec> Parameters) Describe(string model) => model switch
    {
        "lstm_head_softmax" => (new ReferenceSpec("lstm", 3, 20, 2, HeadOutput: 5, HeadActivation: "softmax"), LstmHeadSoftmax.Parameters),
        "gru_bidir_head_sigmoid" => (new ReferenceSpec("gru", 4, 12, 2, Bidirectional: true, HeadOutput: 3, HeadActivation: "sigmoid"), GruBidirHeadSigmoid.Parameters),
        "rnn_leaky_deep" => (new ReferenceSpec("rnn_leaky_relu", 7, 40, 3, NegativeSlope: 0.2f), RnnLeakyDeep.Parameters),
        "rnn_relu_bidir3_head_tanh" => (new ReferenceSpec("rnn_relu", 2, 9, 3, Bidirectional: true, HeadOutput: 17, HeadActivation: "tanh"), RnnReluBidir3HeadTanh.Parameters),
        "lstm_wide_head" => (new ReferenceSpec("lstm", 20, 70, HeadOutput: 2), LstmWideHead.Parameters),
        "gru_nobias_bidir" => (new ReferenceSpec("gru", 3, 5, Bidirectional: true, Bias: false), GruNobiasBidir.Parameters),
        "gru_same_width_deep" => (new ReferenceSpec("gru", 18, 18, 3, HeadOutput: 3, HeadActivation: "tanh"), GruSameWidthDeep.Parameters),
        _ => throw new ArgumentException(model),
    };

    internal static ITrainableRnnModel Load(string model, byte[] weights, KernelPath path) => model switch
    {
        "lstm_head_softmax" => LstmHeadSoftmax.FromSafetensors(weights, path),
        "gru_bidir_head_sigmoid" => GruBidirHeadSigmoid.FromSafetensors(weights, path),
        "rnn_leaky_deep" => RnnLeakyDeep.FromSafetensors(weights, path),
        "rnn_relu_bidir3_head_tanh" => RnnReluBidir3HeadTanh.FromSafetensors(weights, path),
        "lstm_wide_head" => LstmWideHead.FromSafetensors(weights, path),
        "gru_nobias_bidir" => GruNobiasBidir.FromSafetensors(weights, path),
        "gru_same_width_deep" => GruSameWidthDeep.FromSafetensors(weights, path),
        _ => throw new ArgumentException(model),
    };
}
