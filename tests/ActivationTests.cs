using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Xunit;
using Xunit.Abstractions;

namespace Embedded.Rnn.Tests;

/// <summary>
/// The documented error bounds of the activation operators, measured against float64 math on a dense grid
/// plus edge values, for the scalar overload and every vector width (which must agree with each other).
/// </summary>
public sealed class ActivationTests(ITestOutputHelper output)
{
    // Documented in Activations.cs.
    private const double ExpMaxRelativeError = 1e-7;
    private const double SigmoidMaxAbsoluteError = 2e-7;
    private const double TanhMaxAbsoluteError = 4e-7;
    private const float PathsMaxDifference = 4e-7f;

    private static float[] Grid(float from, float to, int count)
    {
        var values = new List<float>(count + 16);
        for (int i = 0; i < count; i++)
        {
            values.Add(from + (to - from) * i / (count - 1));
        }

        values.AddRange([0f, -0f, 1e-30f, -1e-30f, 1e-7f, -1e-7f, float.Epsilon, 100f, -100f, 1e6f, -1e6f, float.MaxValue, float.MinValue]);
        return values.ToArray();
    }

    [Fact]
    public void Exp_is_within_its_relative_bound()
    {
        double worst = Measure(Grid(ExpOperator.Min, ExpOperator.Max, 1_000_003), ExpOperator.Invoke, ExpOperator.Invoke, ExpOperator.Invoke, ExpOperator.Invoke,
            x => Math.Exp(Math.Clamp(x, ExpOperator.Min, ExpOperator.Max)), relative: true);
        output.WriteLine($"exp max relative error {worst:E3}");
        Assert.True(worst <= ExpMaxRelativeError, $"exp error {worst:E3}");
    }

    [Fact]
    public void Sigmoid_is_within_its_absolute_bound()
    {
        double worst = Measure(Grid(-100f, 100f, 1_000_003), SigmoidOperator.Invoke, SigmoidOperator.Invoke, SigmoidOperator.Invoke, SigmoidOperator.Invoke,
            x => 1 / (1 + Math.Exp(-x)), relative: false);
        output.WriteLine($"sigmoid max absolute error {worst:E3}");
        Assert.True(worst <= SigmoidMaxAbsoluteError, $"sigmoid error {worst:E3}");
    }

    [Fact]
    public void Tanh_is_within_its_absolute_bound()
    {
        double worst = Measure(Grid(-50f, 50f, 1_000_003), TanhOperator.Invoke, TanhOperator.Invoke, TanhOperator.Invoke, TanhOperator.Invoke,
            Math.Tanh, relative: false);
        output.WriteLine($"tanh max absolute error {worst:E3}");
        Assert.True(worst <= TanhMaxAbsoluteError, $"tanh error {worst:E3}");
    }

    [Fact]
    public void Tanh_and_sigmoid_saturate_exactly_and_stay_in_range_on_every_path()
    {
        // From its input clamp (±10) on, tanh must give exactly ±1, and nowhere leave [−1, 1] (rounding overshoots by an
        // ulp before the output clamp); sigmoid likewise in [0, 1], exactly 0 and 1 from ∓20 (its clamp).
        float[] inputs = Grid(-60f, 60f, 240_001);
        var tanh = Evaluate(inputs, TanhOperator.Invoke, TanhOperator.Invoke, TanhOperator.Invoke, TanhOperator.Invoke);
        var sigmoid = Evaluate(inputs, SigmoidOperator.Invoke, SigmoidOperator.Invoke, SigmoidOperator.Invoke, SigmoidOperator.Invoke);
        for (int i = 0; i < inputs.Length; i++)
        {
            float x = inputs[i];
            foreach (float y in tanh[i])
            {
                Assert.True(y is >= -1f and <= 1f, $"tanh({x:R}) = {y:R}");
                if (Math.Abs(x) >= 10f)
                {
                    Assert.True(y == MathF.Sign(x), $"tanh({x:R}) = {y:R}");
                }
            }

            foreach (float y in sigmoid[i])
            {
                Assert.True(y is >= 0f and <= 1f, $"sigmoid({x:R}) = {y:R}");
                if (Math.Abs(x) >= 20f)
                {
                    Assert.True(y == (x > 0 ? 1f : 0f), $"sigmoid({x:R}) = {y:R}");
                }
            }
        }
    }

    // Each input's value on the scalar, Vector128, Vector256 and Vector512 paths.
    private static float[][] Evaluate(float[] inputs, Func<float, float> scalar, Func<Vector128<float>, Vector128<float>> v128,
        Func<Vector256<float>, Vector256<float>> v256, Func<Vector512<float>, Vector512<float>> v512) =>
        inputs.Select(x => new[] { scalar(x), v128(Vector128.Create(x)).ToScalar(), v256(Vector256.Create(x)).ToScalar(), v512(Vector512.Create(x)).ToScalar() }).ToArray();

    [Fact]
    public void Relu_and_leaky_relu_are_exact_on_every_path()
    {
        Measure(Grid(-10f, 10f, 10_001), ReluOperator.Invoke, ReluOperator.Invoke, ReluOperator.Invoke, ReluOperator.Invoke,
            x => Math.Max(0, x), relative: false, exact: true);
        Measure(Grid(-10f, 10f, 10_001), x => LeakyReluOperator.Invoke(x, 0.2f), x => LeakyReluOperator.Invoke(x, 0.2f),
            x => LeakyReluOperator.Invoke(x, 0.2f), x => LeakyReluOperator.Invoke(x, 0.2f),
            x => x > 0 ? x : (double)((float)x * 0.2f), relative: false, exact: true);
    }

    [Fact]
    public void Softmax_sums_to_one_and_matches_float64()
    {
        float[] values = [3f, -1f, 0.5f, 80f, 79f];
        double max = values.Max();
        var expected = values.Select(v => Math.Exp(v - max)).ToArray();
        double sum = expected.Sum();
        Softmax.InPlace(values);
        for (int i = 0; i < values.Length; i++)
        {
            Assert.True(Math.Abs(values[i] - expected[i] / sum) < 1e-7, $"softmax[{i}] {values[i]} vs {expected[i] / sum}");
        }
    }

    [Fact]
    public void Nan_propagates_and_infinities_saturate_on_every_width()
    {
        // The vector paths clamp with native min/max, whose NaN handling depends on operand order: NaN must come out.
        (Func<float, float> Scalar, Func<Vector128<float>, Vector128<float>> V128, Func<Vector256<float>, Vector256<float>> V256, Func<Vector512<float>, Vector512<float>> V512, float AtMinusInfinity, float AtInfinity)[] operators =
        [
            (ExpOperator.Invoke, ExpOperator.Invoke, ExpOperator.Invoke, ExpOperator.Invoke, MathF.Exp(ExpOperator.Min), MathF.Exp(ExpOperator.Max)),
            (SigmoidOperator.Invoke, SigmoidOperator.Invoke, SigmoidOperator.Invoke, SigmoidOperator.Invoke, 0f, 1f),
            (TanhOperator.Invoke, TanhOperator.Invoke, TanhOperator.Invoke, TanhOperator.Invoke, -1f, 1f),
        ];
        foreach (var op in operators)
        {
            foreach (float x in new[] { float.NaN, float.NegativeInfinity, float.PositiveInfinity })
            {
                float[] results = [op.Scalar(x), op.V128(Vector128.Create(x)).ToScalar(), op.V256(Vector256.Create(x)).ToScalar(), op.V512(Vector512.Create(x)).ToScalar()];
                foreach (float y in results)
                {
                    if (float.IsNaN(x))
                    {
                        Assert.True(float.IsNaN(y), $"NaN in gave {y:R}");
                    }
                    else
                    {
                        float expected = x < 0 ? op.AtMinusInfinity : op.AtInfinity;
                        Assert.True(Math.Abs(y - expected) <= 1e-6f * Math.Abs(expected) + 1e-38f, $"{x} gave {y:R}, expected {expected:R}");
                    }
                }
            }
        }
    }

    private static double Measure(
        float[] inputs,
        Func<float, float> scalar,
        Func<Vector128<float>, Vector128<float>> v128,
        Func<Vector256<float>, Vector256<float>> v256,
        Func<Vector512<float>, Vector512<float>> v512,
        Func<double, double> truth,
        bool relative,
        bool exact = false)
    {
        double worst = 0;
        for (int start = 0; start + 16 <= inputs.Length; start += 16)
        {
            var chunk = inputs.AsSpan(start, 16);
            var wide = v512(Vector512.Create((ReadOnlySpan<float>)chunk));
            for (int i = 0; i < 16; i++)
            {
                float x = chunk[i];
                float s = scalar(x);
                float[] lanes = [v128(Vector128.Create(x)).ToScalar(), v256(Vector256.Create(x)).ToScalar(), wide[i]];
                double t = truth(x);
                double error = Math.Abs(s - t) / (relative ? Math.Abs(t) : 1);
                Assert.False(double.IsNaN(s), $"NaN at {x:R}");
                worst = Math.Max(worst, error);
                foreach (float lane in lanes)
                {
                    if (exact)
                    {
                        Assert.Equal(s, lane);
                        Assert.Equal(t, s);
                    }
                    else
                    {
                        float scale = relative ? Math.Max(Math.Abs(s), float.Epsilon) : 1f;
                        Assert.True(Math.Abs(lane - s) / scale <= PathsMaxDifference, $"paths differ at {x:R}: scalar {s:R}, vector {lane:R}");
                    }

                    worst = Math.Max(worst, Math.Abs(lane - t) / (relative ? Math.Abs(t) : 1));
                }
            }
        }

        return worst;
    }

    [Fact]
    public void The_vector256_constants_table_has_no_initialiser_and_every_load_reads_one_constant()
    {
        // A class initialiser would make NativeAOT check it inside the activations, where its slow-path call spills the
        // accumulators (bench/RESULTS.md); the table is embedded data instead.
        Assert.Null(typeof(ActivationConstants).TypeInitializer);

        // Table starts up to 7 floats into the data, wherever the data lands: every 64-byte entry must hold one value.
        ReadOnlySpan<float> entries = ActivationConstants.Entries;
        const int entryLength = ActivationConstants.EntryLength;
        Assert.Equal(40 * entryLength, entries.Length);
        for (int entry = 0; entry < entries.Length; entry += entryLength)
        {
            foreach (float value in entries.Slice(entry, entryLength))
            {
                Assert.Equal(entries[entry], value);
            }
        }

        ref float table = ref ActivationConstants.Table;
        nint start = Unsafe.ByteOffset(ref Unsafe.AsRef(in entries[0]), ref table);
        Assert.InRange(start, 0, 7 * sizeof(float));
        (nuint Offset, float Value)[] expected =
        [
            (ActivationConstants.Min, ExpOperator.Min), (ActivationConstants.Max, ExpOperator.Max), (ActivationConstants.Log2E, ExpOperator.Log2E),
            (ActivationConstants.RoundMagic, ExpOperator.RoundMagic), (ActivationConstants.MinusLn2Hi, -ExpOperator.Ln2Hi),
            (ActivationConstants.MinusLn2Lo, -ExpOperator.Ln2Lo), (ActivationConstants.P0, ExpOperator.P0), (ActivationConstants.P5, ExpOperator.P5),
            (ActivationConstants.One, 1f), (ActivationConstants.ExponentBias, BitConverter.Int32BitsToSingle(ExpOperator.RoundMagicBits - 127)),
            (ActivationConstants.Tanh + ActivationConstants.SquaredLimit, RationalTanh.TanhLimit * RationalTanh.TanhLimit),
            (ActivationConstants.Tanh + ActivationConstants.RationalQ4, RationalTanh.Q4), (ActivationConstants.Tanh + ActivationConstants.Upper, 1f),
            (ActivationConstants.Tanh + ActivationConstants.Lower, -1f), (ActivationConstants.Tanh + ActivationConstants.Offset, 0f),
            (ActivationConstants.Sigmoid + ActivationConstants.SquaredLimit, RationalTanh.SigmoidLimit * RationalTanh.SigmoidLimit),
            (ActivationConstants.Sigmoid + ActivationConstants.RationalP0, RationalTanh.SigmoidP0), (ActivationConstants.Sigmoid + ActivationConstants.RationalQ4, RationalTanh.SigmoidQ4),
            (ActivationConstants.Sigmoid + ActivationConstants.Offset, 0.5f), (ActivationConstants.Sigmoid + ActivationConstants.Lower, 0f),
            (ActivationConstants.Sigmoid + ActivationConstants.Upper, 1f),
        ];
        foreach ((nuint offset, float value) in expected)
        {
            Assert.Equal(Vector256.Create(value), Vector256.LoadUnsafe(ref table, offset));
        }

        Assert.Equal(ActivationConstants.Sigmoid + ActivationConstants.Upper + entryLength, (nuint)entries.Length); // the last entry ends the data
    }
}
