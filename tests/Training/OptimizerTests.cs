using Embedded.Rnn.Safetensors;
using Embedded.Rnn.Training;
using Xunit;

namespace Embedded.Rnn.Tests;

/// <summary>
/// Each optimizer's update against PyTorch's formula (torch.optim.SGD, Adam, AdamW) on two parameters over two
/// steps, worked by hand below; and each one's checkpoint round trip (write, read into a fresh optimizer, continue).
/// </summary>
public sealed class OptimizerTests
{
    private static readonly ParameterSpec[] Specs = [new("weight", [2])];
    private static readonly float[][] Gradients = [[0.5f, 0.25f], [-0.25f, 0.5f], [0.125f, -1f]];

    private static float[][] Steps(IOptimizer optimizer, float learningRate, int count, float[]? start = null)
    {
        float[][] parameters = [start ?? [1f, -2f]];
        var trace = new List<float[]>();
        for (int s = 0; s < count; s++)
        {
            optimizer.Update(parameters, [Gradients[s]], learningRate);
            trace.Add((float[])parameters[0].Clone());
        }

        return trace.ToArray();
    }

    private static IOptimizer Create(OptimizerKind kind, float momentum = 0.9f, float weightDecay = 0.1f) =>
        Optimizers.For(new TrainingOptions { Optimizer = kind, Momentum = momentum, WeightDecay = weightDecay }, [new float[2]]);

    [Fact]
    public void Sgd_with_momentum_and_weight_decay_follows_torch_optim_sgd()
    {
        // lr 0.5, μ 0.9, λ 0.1, p = (1, −2).
        // Step 1: d = g + λp = (0.6, 0.05); b = d; p = p − 0.5 b = (0.7, −2.025).
        // Step 2: g = (−0.25, 0.5), d = (−0.25 + 0.07, 0.5 − 0.2025) = (−0.18, 0.2975); b = 0.9 b + d = (0.36, 0.3425);
        //   p = (0.7 − 0.18, −2.025 − 0.17125) = (0.52, −2.19625).
        var trace = Steps(Create(OptimizerKind.Sgd), 0.5f, 2);
        AssertClose([0.7, -2.025], trace[0]);
        AssertClose([0.52, -2.19625], trace[1]);
    }

    [Fact]
    public void Sgd_without_momentum_is_plain_gradient_descent_and_keeps_no_buffer()
    {
        // lr 0.5, λ 0: p = (1 − 0.25, −2 − 0.125), then (0.75 + 0.125, −2.125 − 0.25).
        var sgd = (SgdOptimizer)Create(OptimizerKind.Sgd, momentum: 0f, weightDecay: 0f);
        var trace = Steps(sgd, 0.5f, 2);
        AssertClose([0.75, -2.125], trace[0]);
        AssertClose([0.875, -2.375], trace[1]);
        Assert.Empty(sgd.MomentumBuffers);
        var file = SafetensorsFile.Parse(Written(sgd));
        Assert.Empty(file.Tensors);
        Assert.Equal("2", file.Metadata["optimizer_steps"]);
    }

    [Fact]
    public void Adam_adds_weight_decay_to_the_gradient_and_corrects_the_moments_bias_as_torch_optim_adam()
    {
        // lr 0.1, β = (0.9, 0.999), ε 1e-8, λ 0.1 (L2), p = (1, −2).
        // Step 1, first value: g = 0.5 + 0.1 = 0.6; m = 0.06, v = 0.00036; m̂ = 0.6, √v̂ = 0.6; p = 1 − 0.1·0.6/(0.6 + ε) ≈ 0.9.
        //   Second value: g = 0.25 − 0.2 = 0.05; m̂ = 0.05 = √v̂; p = −2.1.
        // Step 2, first value: g = −0.25 + 0.09 = −0.16; m = 0.054 − 0.016 = 0.038, v = 0.00035964 + 0.0000256 = 0.00038524;
        //   m̂ = 0.038/0.19 = 0.2, √v̂ = √(0.00038524/0.001999) = 0.43899; p = 0.9 − 0.1·0.2/0.43899 = 0.854441.
        var adam = (AdamOptimizer)Create(OptimizerKind.Adam);
        var trace = Steps(adam, 0.1f, 2);
        AssertClose([0.9000000016666666, -2.099999980000004], trace[0]);
        AssertClose([0.8544413674617625, -2.1847119740372833], trace[1]);
        AssertClose([0.038, 0.0335], adam.FirstMoments[0]);
        // 1 − β2 is taken in float (1 − 0.999f = 0.00099998713), so v is about 1.3e-5 relative below the double value.
        AssertClose([0.00038524, 8.65975e-05], adam.SecondMoments[0], 1e-8);
    }

    [Fact]
    public void AdamW_decays_the_weights_apart_from_the_gradient_as_torch_optim_adamw()
    {
        // lr 0.1, λ 0.1 decoupled: p ← p·(1 − 0.01), then the Adam step on the raw gradient.
        // Step 1, first value: p = 0.99, m̂ = 0.5 = √v̂: p = 0.99 − 0.1 = 0.89. Second: −1.98 − 0.1 = −2.08.
        // Step 2, first value: p = 0.89·0.99 = 0.8811; m = 0.045 − 0.025 = 0.02, v = 0.00024975 + 0.0000625 = 0.00031225;
        //   m̂ = 0.02/0.19 = 0.105263, √v̂ = √(0.00031225/0.001999) = 0.395222; p = 0.8811 − 0.1·0.105263/0.395222 = 0.854466.
        var trace = Steps(Create(OptimizerKind.AdamW), 0.1f, 2);
        AssertClose([0.890000002, -2.079999996], trace[0]);
        AssertClose([0.8544662986878463, -2.1557181961808047], trace[1]);
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd, 0.9f)]
    [InlineData(OptimizerKind.Sgd, 0f)]
    [InlineData(OptimizerKind.Adam, 0.9f)]
    [InlineData(OptimizerKind.AdamW, 0.9f)]
    public void State_written_to_a_checkpoint_and_read_back_continues_bit_for_bit(OptimizerKind kind, float momentum)
    {
        var original = Create(kind, momentum);
        float[][] parameters = [[1f, -2f]];
        original.Update(parameters, [Gradients[0]], 0.1f);
        original.Update(parameters, [Gradients[1]], 0.1f);
        byte[] checkpoint = Written(original);

        var restored = Create(kind, momentum);
        restored.ReadState(SafetensorsFile.Parse(checkpoint), Specs);
        Assert.Equal(checkpoint, Written(restored));
        float[][] copy = [(float[])parameters[0].Clone()];
        original.Update(parameters, [Gradients[2]], 0.1f);
        restored.Update(copy, [Gradients[2]], 0.1f);
        Assert.Equal(parameters[0], copy[0]);
    }

    [Fact]
    public void Each_optimizer_names_its_own_checkpoint_entries()
    {
        static string[] Names(OptimizerKind kind) => SafetensorsFile.Parse(Written(Create(kind))).Tensors.Select(t => t.Name).ToArray();
        Assert.Equal(["optimizer.first.weight"], Names(OptimizerKind.Sgd)); // the momentum buffer
        Assert.Equal(["optimizer.first.weight", "optimizer.second.weight"], Names(OptimizerKind.Adam));
        Assert.Equal(["optimizer.first.weight", "optimizer.second.weight"], Names(OptimizerKind.AdamW));
    }

    [Fact]
    public void Adam_refuses_a_checkpoint_without_its_moments_and_sgd_starts_a_missing_momentum_buffer_as_pytorch_does()
    {
        byte[] withoutMomentum = Written(Create(OptimizerKind.Sgd, momentum: 0f));
        Assert.Contains("state of the Sgd optimizer", Assert.Throws<ArgumentException>(() => Create(OptimizerKind.Adam).ReadState(SafetensorsFile.Parse(withoutMomentum), Specs)).Message);
        var unnamed = new SafetensorsWriter().AddMetadata("optimizer_steps", "1"); // as written before the kind was recorded
        Assert.Throws<SafetensorsException>(() => Create(OptimizerKind.Adam).ReadState(SafetensorsFile.Parse(unnamed.ToArray()), Specs));
        Assert.Throws<SafetensorsException>(() => Create(OptimizerKind.Sgd).ReadState(SafetensorsFile.Parse(new SafetensorsWriter().ToArray()), Specs));

        // A buffer that is absent is zero, so the next step sets b = d, as torch.optim.SGD does for momentum_buffer None.
        var sgd = (SgdOptimizer)Create(OptimizerKind.Sgd);
        sgd.MomentumBuffers[0][0] = 5f;
        sgd.ReadState(SafetensorsFile.Parse(withoutMomentum), Specs);
        Assert.Equal([0f, 0f], sgd.MomentumBuffers[0]);
    }

    [Fact]
    public void Every_optimizer_kind_maps_to_its_optimizer_and_an_unknown_kind_throws()
    {
        Assert.IsType<SgdOptimizer>(Create(OptimizerKind.Sgd));
        Assert.IsType<AdamOptimizer>(Create(OptimizerKind.Adam));
        Assert.IsType<AdamOptimizer>(Create(OptimizerKind.AdamW));
        Assert.Throws<ArgumentOutOfRangeException>(() => Create((OptimizerKind)3));
        var model = Models.GruTinyRegression.FromParameters(RnnTrainer.InitialParameters(Models.GruTinyRegression.Shape, Models.GruTinyRegression.Parameters));
        Assert.Contains("Optimizer 3", Assert.Throws<ArgumentException>(() => new RnnTrainer(model, new TrainingOptions { Optimizer = (OptimizerKind)3 })).Message);
    }

    private static byte[] Written(IOptimizer optimizer)
    {
        var writer = new SafetensorsWriter();
        optimizer.WriteState(writer, Specs);
        return writer.ToArray();
    }

    private static void AssertClose(double[] expected, float[] actual, double tolerance = 1e-6)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"[{i}]: expected {expected[i]}, got {actual[i]}");
        }
    }

    /// <summary>
    /// Adam and AdamW on tensors of whole vectors and a tail against the update written out per element: in float, the same
    /// operations in the same order, bit for bit (the vectorised loop and the tail alike); in double, within float rounding.
    /// </summary>
    [Theory]
    [InlineData(false, 0f)]
    [InlineData(false, 0.01f)]
    [InlineData(true, 0.01f)]
    public void Adam_matches_the_written_out_update(bool decoupled, float decay)
    {
        const float B1 = 0.9f, B2 = 0.999f, Epsilon = 1e-8f, Rate = 0.01f;
        var random = new Random(5);
        // 37 and 3 elements: whole vectors and a tail, and a tensor shorter than one vector.
        var parameters = new[] { RandomValues(37, random), RandomValues(3, random) };
        var expected = parameters.Select(p => (float[])p.Clone()).ToArray();
        var exact = parameters.Select(p => p.Select(v => (double)v).ToArray()).ToArray();
        var m = parameters.Select(p => new float[p.Length]).ToArray();
        var v = parameters.Select(p => new float[p.Length]).ToArray();
        var mExact = parameters.Select(p => new double[p.Length]).ToArray();
        var vExact = parameters.Select(p => new double[p.Length]).ToArray();
        var adam = new AdamOptimizer(B1, B2, Epsilon, decay, decoupled, parameters);
        for (int step = 1; step <= 3; step++)
        {
            var gradients = parameters.Select(p => RandomValues(p.Length, random)).ToArray();
            adam.Update(parameters, gradients, Rate);
            float c1 = 1f - MathF.Pow(B1, step), c2 = 1f - MathF.Pow(B2, step);
            for (int k = 0; k < parameters.Length; k++)
            {
                for (int i = 0; i < parameters[k].Length; i++)
                {
                    float g = gradients[k][i];
                    double gExact = g;
                    if (decoupled)
                    {
                        expected[k][i] *= 1f - Rate * decay;
                        exact[k][i] *= 1 - (double)Rate * decay;
                    }
                    else
                    {
                        g += decay * expected[k][i];
                        gExact += decay * exact[k][i];
                    }

                    m[k][i] = B1 * m[k][i] + (1f - B1) * g;
                    v[k][i] = B2 * v[k][i] + (1f - B2) * g * g;
                    expected[k][i] -= Rate * (m[k][i] / c1) / (MathF.Sqrt(v[k][i] / c2) + Epsilon);
                    mExact[k][i] = B1 * mExact[k][i] + (1 - (double)B1) * gExact;
                    vExact[k][i] = B2 * vExact[k][i] + (1 - (double)B2) * gExact * gExact;
                    exact[k][i] -= Rate * (mExact[k][i] / (1 - Math.Pow(B1, step))) / (Math.Sqrt(vExact[k][i] / (1 - Math.Pow(B2, step))) + Epsilon);
                }

                Assert.Equal(expected[k], parameters[k]);
                Assert.Equal(m[k], adam.FirstMoments[k]);
                Assert.Equal(v[k], adam.SecondMoments[k]);
                for (int i = 0; i < parameters[k].Length; i++)
                {
                    Assert.True(Math.Abs(parameters[k][i] - exact[k][i]) <= 1e-6 * Math.Max(1, Math.Abs(exact[k][i])), $"step {step}, tensor {k}[{i}]: {parameters[k][i]} against {exact[k][i]}");
                }
            }
        }
    }

    private static float[] RandomValues(int length, Random random) => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
}
