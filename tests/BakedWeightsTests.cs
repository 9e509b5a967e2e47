using Embedded.Rnn.Safetensors;
using Embedded.Rnn.Tests.Models;
using Embedded.Rnn.Tests.Support;
using Xunit;

namespace Embedded.Rnn.Tests;

/// <summary>Weights baked in at build time give the PyTorch reference's results on every path.</summary>
public sealed class BakedWeightsTests
{
    [Theory]
    [InlineData(KernelPath.Scalar)]
    [InlineData(KernelPath.Vector128)]
    [InlineData(KernelPath.Vector256)]
    [InlineData(KernelPath.Vector512)]
    public void Baked_model_matches_pytorch(KernelPath path)
    {
        var c = ReferenceCase.Load("lstm_i1_h8_t5_b1");
        var outcome = ModelHarness.Run(LstmBaked.FromBakedWeights(path), c.Sequence(0), [c.StateSlice(c.H0, 0, 0)], [c.StateSlice(c.C0!, 0, 0)]);
        Tolerance.AssertClose(c.ExpectedOutput(0), outcome.Output, Tolerance.Forward, "baked output");
        Tolerance.AssertClose(c.StateSlice(c.HN, 0, 0), outcome.HN[0], Tolerance.Forward, "baked h_n");
    }

    [Fact]
    public void Baked_and_loaded_weights_are_the_same_model()
    {
        var c = ReferenceCase.Load("lstm_i1_h8_t5_b1");
        var baked = LstmBaked.FromBakedWeights();
        var loaded = LstmBaked.FromSafetensors(c.ParameterFile());
        var a = default(LstmBaked.State);
        var b = default(LstmBaked.State);
        var ya = new float[5 * 8];
        var yb = new float[5 * 8];
        baked.Run(c.Sequence(0), ref a, ya);
        loaded.Run(c.Sequence(0), ref b, yb);
        Assert.Equal(ya, yb);
    }

    // Baked in their stored type (rounded at build time) or rounded at load from the float32 file: the same integers and
    // bfloat16 values, so the same model on every path. Equal, not close: widening a stored weight back to float32 is exact,
    // and an int8 row's scale comes back from 127 × scale / 127.
    [Theory]
    [InlineData(KernelPath.Scalar)]
    [InlineData(KernelPath.Vector128)]
    [InlineData(KernelPath.Vector256)]
    [InlineData(KernelPath.Vector512)]
    public void Weights_baked_in_their_stored_type_are_the_model_quantised_at_load(KernelPath path)
    {
        var c = ReferenceCase.Load("lstm_i1_h8_t5_b1");
        Assert.Equal(0f, LargestDifference(LstmBakedBFloat16.FromBakedWeights(path), LstmBakedBFloat16.FromSafetensors(c.ParameterFile(), path), c.Sequence(0)));
        Assert.Equal(0f, LargestDifference(LstmBakedInt8.FromBakedWeights(path), LstmBakedInt8.FromSafetensors(c.ParameterFile(), path), c.Sequence(0)));
        Assert.Equal("int8", LstmBakedInt8.Precision);
    }

    private static float LargestDifference<TState>(IStreamingRnnModel<TState> baked, IStreamingRnnModel<TState> loaded, float[] xs) where TState : struct, IRnnState
    {
        var a = default(TState);
        var b = default(TState);
        var ya = new float[xs.Length * 8]; // 1 input, 8 outputs per step
        var yb = new float[ya.Length];
        baked.Run(xs, ref a, ya);
        loaded.Run(xs, ref b, yb);
        return ya.Zip(yb, (p, q) => Math.Abs(p - q)).Max();
    }

    [Fact]
    public void Baked_infinite_weight_is_refused_unless_allowed()
    {
        var e = Assert.Throws<SafetensorsException>(() => LstmBakedNegInf.FromBakedWeights());
        Assert.Contains("tensor 'weight_hh_l0' holds -Infinity at index 29 ([3, 5] in shape [32, 8])", e.Message);
        Assert.NotNull(LstmBakedNegInf.FromBakedWeights(SafetensorsLoadOptions.AllowNonFinite, KernelPath.Scalar));
    }
}
