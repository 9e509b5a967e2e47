using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Embedded.Rnn;

// Element-wise activations shared by the generated kernels, the trainer and the tests. Every overload runs
// the same algorithm (the scalar one without fused multiply-add), so all paths agree within the bounds below.

/// <summary>
/// e^x by range reduction and a degree-6 polynomial (Cephes <c>expf</c>, S. L. Moshier): x = n·ln2 + r with
/// |r| ≤ ln2/2, e^r from the polynomial, 2^n put into the exponent bits. The polynomial is evaluated in Estrin's
/// form (pairs, then r²) rather than Horner's: 3 dependent multiply-adds instead of 5, which shortens the
/// latency chain of every activation in a streaming step. Input is clamped to
/// [<see cref="Min"/>, <see cref="Max"/>] so that 2^n stays a normal float. Max relative error 1e-7
/// (<c>ActivationTests</c> measures 8.2e-8 over [-87.3, 88.3]).
/// </summary>
public readonly struct ExpOperator
{
    /// <summary>Smallest input used; smaller inputs give e^Min ≈ 1.2e-38.</summary>
    public const float Min = -87.3f;
    /// <summary>Largest input used; larger inputs give e^Max ≈ 2.2e38.</summary>
    public const float Max = 88.3f;

    internal const float Log2E = 1.44269504088896341f;
    internal const float Ln2Hi = 0.693359375f;
    internal const float Ln2Lo = -2.12194440e-4f;
    internal const float RoundMagic = 12582912f; // 1.5·2^23: adding it rounds to the nearest integer,
    internal const int RoundMagicBits = 0x4B400000; // and then n sits in the low bits: bits(x + magic) = RoundMagicBits + n.
    internal const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f;
    internal const float P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /// <summary>e^x for one value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x)
    {
        x = MathF.Min(MathF.Max(x, Min), Max);
        float shifted = x * Log2E + RoundMagic;
        float n = shifted - RoundMagic;
        float r = x - n * Ln2Hi - n * Ln2Lo;
        float r2 = r * r;
        float p = ((P0 * r + P1) * r2 + (P2 * r + P3)) * r2 + (P4 * r + P5);
        float y = p * r2 + r + 1f;
        return y * BitConverter.Int32BitsToSingle((BitConverter.SingleToInt32Bits(shifted) - RoundMagicBits + 127) << 23);
    }

    /// <summary>e^x for each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x)
    {
        x = Vector128.Min(Vector128.Max(x, Vector128.Create(Min)), Vector128.Create(Max));
        var shifted = Vector128.MultiplyAddEstimate(x, Vector128.Create(Log2E), Vector128.Create(RoundMagic));
        var n = shifted - Vector128.Create(RoundMagic);
        var r = Vector128.MultiplyAddEstimate(n, Vector128.Create(-Ln2Hi), x);
        r = Vector128.MultiplyAddEstimate(n, Vector128.Create(-Ln2Lo), r);
        var r2 = r * r;
        var p01 = Vector128.MultiplyAddEstimate(Vector128.Create(P0), r, Vector128.Create(P1));
        var p23 = Vector128.MultiplyAddEstimate(Vector128.Create(P2), r, Vector128.Create(P3));
        var p45 = Vector128.MultiplyAddEstimate(Vector128.Create(P4), r, Vector128.Create(P5));
        var p = Vector128.MultiplyAddEstimate(Vector128.MultiplyAddEstimate(p01, r2, p23), r2, p45);
        var y = Vector128.MultiplyAddEstimate(p, r2, r) + Vector128<float>.One;
        var scale = Vector128.ShiftLeft(shifted.AsInt32() - Vector128.Create(RoundMagicBits - 127), 23).AsSingle();
        return y * scale;
    }

    /// <summary>e^x for each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x)
    {
        ref float k = ref ActivationConstants.Table;
        // Native min/max, the bound first: x86 returns the second operand when either is NaN, so NaN propagates.
        x = Vector256.MinNative(Vector256.LoadUnsafe(ref k, ActivationConstants.Max), Vector256.MaxNative(Vector256.LoadUnsafe(ref k, ActivationConstants.Min), x));
        var shifted = Vector256.MultiplyAddEstimate(x, Vector256.LoadUnsafe(ref k, ActivationConstants.Log2E), Vector256.LoadUnsafe(ref k, ActivationConstants.RoundMagic));
        var n = shifted - Vector256.LoadUnsafe(ref k, ActivationConstants.RoundMagic);
        var r = Vector256.MultiplyAddEstimate(n, Vector256.LoadUnsafe(ref k, ActivationConstants.MinusLn2Hi), x);
        r = Vector256.MultiplyAddEstimate(n, Vector256.LoadUnsafe(ref k, ActivationConstants.MinusLn2Lo), r);
        var r2 = r * r;
        var p01 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref k, ActivationConstants.P0), r, Vector256.LoadUnsafe(ref k, ActivationConstants.P1));
        var p23 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref k, ActivationConstants.P2), r, Vector256.LoadUnsafe(ref k, ActivationConstants.P3));
        var p45 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref k, ActivationConstants.P4), r, Vector256.LoadUnsafe(ref k, ActivationConstants.P5));
        var p = Vector256.MultiplyAddEstimate(Vector256.MultiplyAddEstimate(p01, r2, p23), r2, p45);
        var y = Vector256.MultiplyAddEstimate(p, r2, r) + Vector256.LoadUnsafe(ref k, ActivationConstants.One);
        var scale = Vector256.ShiftLeft(shifted.AsInt32() - Vector256.LoadUnsafe(ref k, ActivationConstants.ExponentBias).AsInt32(), 23).AsSingle();
        return y * scale;
    }

    /// <summary>e^x for each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x)
    {
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(Min)), Vector512.Create(Max));
        var shifted = Vector512.MultiplyAddEstimate(x, Vector512.Create(Log2E), Vector512.Create(RoundMagic));
        var n = shifted - Vector512.Create(RoundMagic);
        var r = Vector512.MultiplyAddEstimate(n, Vector512.Create(-Ln2Hi), x);
        r = Vector512.MultiplyAddEstimate(n, Vector512.Create(-Ln2Lo), r);
        var r2 = r * r;
        var p01 = Vector512.MultiplyAddEstimate(Vector512.Create(P0), r, Vector512.Create(P1));
        var p23 = Vector512.MultiplyAddEstimate(Vector512.Create(P2), r, Vector512.Create(P3));
        var p45 = Vector512.MultiplyAddEstimate(Vector512.Create(P4), r, Vector512.Create(P5));
        var p = Vector512.MultiplyAddEstimate(Vector512.MultiplyAddEstimate(p01, r2, p23), r2, p45);
        var y = Vector512.MultiplyAddEstimate(p, r2, r) + Vector512<float>.One;
        var scale = Vector512.ShiftLeft(shifted.AsInt32() - Vector512.Create(RoundMagicBits - 127), 23).AsSingle();
        return y * scale;
    }
}

/// <summary>
/// The rational form tanh(x) ≈ x·P(x²)/Q(x²) that <see cref="TanhOperator"/> and <see cref="SigmoidOperator"/> share:
/// P and Q of degree 4, fitted by <c>tools/activations/fit_tanh.py</c> (relative error 2.3e-8 on [0, 9.1] in exact
/// arithmetic). It replaced 1 − 2/(e^{2x} + 1) because a recurrent step at small hidden sizes is a dependent chain
/// through its activations: e^x's range reduction, polynomial and scaling before the division cost about 60 cycles of
/// latency per vector, where the two polynomials here run side by side and the chain is about half that.
/// </summary>
/// <remarks>
/// Evaluation order, the same on every path (the scalar one multiplies and adds separately): t = x², t2 = t², then
/// x·(P0 + P1·t) + x·t2·(P2 + P3·t + P4·t2) over (1 + Q1·t) + t2·(Q2 + Q3·t + Q4·t2). The result is clamped to
/// [−1, 1], which float32 rounding can overshoot by an ulp. From |x| = 9.1 on, where tanh rounds to ±1, the rational
/// form passes 1 and keeps growing (1 + 1.5e-6 at 10), so that clamp makes it exactly ±1 there. Only t is clamped, to
/// <see cref="TanhLimit"/>², so that t2² cannot overflow: beyond the limit the result is x/limit times its value at the
/// limit, past 1 in magnitude and clamped, and an infinite x gives an infinite quotient, clamped too. One operation on
/// the chain instead of a min and a max on x. Sigmoid is 1/2 + tanh(x/2)/2, written as 1/2 + x·P̂(x²)/Q̂(x²) with
/// P̂k = Pk/4^(k+1) and Q̂k = Qk/4^k: scaling by powers of two is exact, so it rounds exactly as tanh(x/2)/2 would, one
/// multiply shorter. The Vector128 and Vector512 bodies of <see cref="SigmoidOperator"/> and <see cref="TanhOperator"/>
/// are alike but written out: one shared evaluation taking the coefficients as arguments added two inlining levels
/// under each activation and made GRU (32, 128) 11 % slower (bench/ab.sh; likely the JIT's inlining budget in the GRU's
/// rolled activation loops).
/// </remarks>
internal static class RationalTanh
{
    internal const float TanhLimit = 10f;
    internal const float P0 = 1.0f, P1 = 0.13374479f, P2 = 0.0034878154f, P3 = 2.048125e-05f, P4 = 1.31775995e-08f;
    internal const float Q1 = 0.46707794f, Q2 = 0.025847405f, Q3 = 0.00032729268f, Q4 = 7.7040795e-07f;

    internal const float SigmoidLimit = 2 * TanhLimit; // tanh(x/2)'s clamp
    internal const float SigmoidP0 = P0 / 4, SigmoidP1 = P1 / 16, SigmoidP2 = P2 / 64, SigmoidP3 = P3 / 256, SigmoidP4 = P4 / 1024;
    internal const float SigmoidQ1 = Q1 / 4, SigmoidQ2 = Q2 / 16, SigmoidQ3 = Q3 / 64, SigmoidQ4 = Q4 / 256;
}

/// <summary>
/// Logistic sigmoid 1/2 + tanh(x/2)/2 in <see cref="RationalTanh"/>'s form, clamped to [0, 1]. Max absolute error
/// 2e-7 over all inputs (<c>ActivationTests</c> measures it); exactly 0 and 1 from ∓20 on, and never subnormal.
/// </summary>
public readonly struct SigmoidOperator
{
    /// <summary>σ(x) for one value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x)
    {
        float t = MathF.Min(x * x, RationalTanh.SigmoidLimit * RationalTanh.SigmoidLimit);
        float t2 = t * t;
        float numerator = x * (RationalTanh.SigmoidP1 * t + RationalTanh.SigmoidP0)
            + x * t2 * (RationalTanh.SigmoidP4 * t2 + (RationalTanh.SigmoidP3 * t + RationalTanh.SigmoidP2));
        float denominator = t2 * (RationalTanh.SigmoidQ4 * t2 + (RationalTanh.SigmoidQ3 * t + RationalTanh.SigmoidQ2)) + (RationalTanh.SigmoidQ1 * t + 1f);
        return MathF.Min(MathF.Max(0.5f + numerator / denominator, 0f), 1f);
    }

    /// <summary>σ(x) for each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x)
    {
        // Native min, the bound first: x86 returns the second operand when either is NaN, so NaN propagates.
        var t = Vector128.MinNative(Vector128.Create(RationalTanh.SigmoidLimit * RationalTanh.SigmoidLimit), x * x);
        var t2 = t * t;
        var numerator = Vector128.MultiplyAddEstimate(x * t2,
            Vector128.MultiplyAddEstimate(Vector128.Create(RationalTanh.SigmoidP4), t2, Vector128.MultiplyAddEstimate(Vector128.Create(RationalTanh.SigmoidP3), t, Vector128.Create(RationalTanh.SigmoidP2))),
            x * Vector128.MultiplyAddEstimate(Vector128.Create(RationalTanh.SigmoidP1), t, Vector128.Create(RationalTanh.SigmoidP0)));
        var denominator = Vector128.MultiplyAddEstimate(t2,
            Vector128.MultiplyAddEstimate(Vector128.Create(RationalTanh.SigmoidQ4), t2, Vector128.MultiplyAddEstimate(Vector128.Create(RationalTanh.SigmoidQ3), t, Vector128.Create(RationalTanh.SigmoidQ2))),
            Vector128.MultiplyAddEstimate(Vector128.Create(RationalTanh.SigmoidQ1), t, Vector128<float>.One));
        return Vector128.MinNative(Vector128<float>.One, Vector128.MaxNative(Vector128<float>.Zero, Vector128.Create(0.5f) + numerator / denominator));
    }

    /// <summary>σ(x) for each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x) => RationalTanh256.Evaluate(x, ActivationConstants.Sigmoid);

    /// <summary>σ(x) for each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x)
    {
        var t = Vector512.MinNative(Vector512.Create(RationalTanh.SigmoidLimit * RationalTanh.SigmoidLimit), x * x);
        var t2 = t * t;
        var numerator = Vector512.MultiplyAddEstimate(x * t2,
            Vector512.MultiplyAddEstimate(Vector512.Create(RationalTanh.SigmoidP4), t2, Vector512.MultiplyAddEstimate(Vector512.Create(RationalTanh.SigmoidP3), t, Vector512.Create(RationalTanh.SigmoidP2))),
            x * Vector512.MultiplyAddEstimate(Vector512.Create(RationalTanh.SigmoidP1), t, Vector512.Create(RationalTanh.SigmoidP0)));
        var denominator = Vector512.MultiplyAddEstimate(t2,
            Vector512.MultiplyAddEstimate(Vector512.Create(RationalTanh.SigmoidQ4), t2, Vector512.MultiplyAddEstimate(Vector512.Create(RationalTanh.SigmoidQ3), t, Vector512.Create(RationalTanh.SigmoidQ2))),
            Vector512.MultiplyAddEstimate(Vector512.Create(RationalTanh.SigmoidQ1), t, Vector512<float>.One));
        return Vector512.MinNative(Vector512<float>.One, Vector512.MaxNative(Vector512<float>.Zero, Vector512.Create(0.5f) + numerator / denominator));
    }
}

/// <summary>
/// Hyperbolic tangent in <see cref="RationalTanh"/>'s form, clamped to [−1, 1]; exactly ±1 from ±10 on. Max absolute
/// error 4e-7 over all inputs (<c>ActivationTests</c> measures it): a few float32 ulps near ±1, from rounding in the
/// evaluation, well inside the 1e-5·max(1, |ref|) forward bound. Near 0 it is x·(1 + O(ulp)), so small values keep
/// their relative accuracy.
/// </summary>
public readonly struct TanhOperator
{
    /// <summary>tanh(x) for one value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x)
    {
        float t = MathF.Min(x * x, RationalTanh.TanhLimit * RationalTanh.TanhLimit);
        float t2 = t * t;
        float numerator = x * (RationalTanh.P1 * t + RationalTanh.P0) + x * t2 * (RationalTanh.P4 * t2 + (RationalTanh.P3 * t + RationalTanh.P2));
        float denominator = t2 * (RationalTanh.Q4 * t2 + (RationalTanh.Q3 * t + RationalTanh.Q2)) + (RationalTanh.Q1 * t + 1f);
        return MathF.Min(MathF.Max(numerator / denominator, -1f), 1f);
    }

    /// <summary>tanh(x) for each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x)
    {
        var t = Vector128.MinNative(Vector128.Create(RationalTanh.TanhLimit * RationalTanh.TanhLimit), x * x);
        var t2 = t * t;
        var numerator = Vector128.MultiplyAddEstimate(x * t2,
            Vector128.MultiplyAddEstimate(Vector128.Create(RationalTanh.P4), t2, Vector128.MultiplyAddEstimate(Vector128.Create(RationalTanh.P3), t, Vector128.Create(RationalTanh.P2))),
            x * Vector128.MultiplyAddEstimate(Vector128.Create(RationalTanh.P1), t, Vector128.Create(RationalTanh.P0)));
        var denominator = Vector128.MultiplyAddEstimate(t2,
            Vector128.MultiplyAddEstimate(Vector128.Create(RationalTanh.Q4), t2, Vector128.MultiplyAddEstimate(Vector128.Create(RationalTanh.Q3), t, Vector128.Create(RationalTanh.Q2))),
            Vector128.MultiplyAddEstimate(Vector128.Create(RationalTanh.Q1), t, Vector128<float>.One));
        return Vector128.MinNative(Vector128<float>.One, Vector128.MaxNative(Vector128.Create(-1f), numerator / denominator));
    }

    /// <summary>tanh(x) for each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x) => RationalTanh256.Evaluate(x, ActivationConstants.Tanh);

    /// <summary>tanh(x) for each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x)
    {
        var t = Vector512.MinNative(Vector512.Create(RationalTanh.TanhLimit * RationalTanh.TanhLimit), x * x);
        var t2 = t * t;
        var numerator = Vector512.MultiplyAddEstimate(x * t2,
            Vector512.MultiplyAddEstimate(Vector512.Create(RationalTanh.P4), t2, Vector512.MultiplyAddEstimate(Vector512.Create(RationalTanh.P3), t, Vector512.Create(RationalTanh.P2))),
            x * Vector512.MultiplyAddEstimate(Vector512.Create(RationalTanh.P1), t, Vector512.Create(RationalTanh.P0)));
        var denominator = Vector512.MultiplyAddEstimate(t2,
            Vector512.MultiplyAddEstimate(Vector512.Create(RationalTanh.Q4), t2, Vector512.MultiplyAddEstimate(Vector512.Create(RationalTanh.Q3), t, Vector512.Create(RationalTanh.Q2))),
            Vector512.MultiplyAddEstimate(Vector512.Create(RationalTanh.Q1), t, Vector512<float>.One));
        return Vector512.MinNative(Vector512<float>.One, Vector512.MaxNative(Vector512.Create(-1f), numerator / denominator));
    }
}

/// <summary>
/// <see cref="RationalTanh"/> on <c>Vector256</c>, its constants read from <see cref="ActivationConstants"/>' table as
/// memory operands (see there why); tanh and sigmoid differ only in their table entries.
/// </summary>
internal static class RationalTanh256
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Evaluate(Vector256<float> x, nuint set)
    {
        ref float k = ref Unsafe.Add(ref ActivationConstants.Table, set);
        var t = Vector256.MinNative(Vector256.LoadUnsafe(ref k, ActivationConstants.SquaredLimit), x * x);
        var t2 = t * t;
        var numerator = Vector256.MultiplyAddEstimate(x * t2,
            Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref k, ActivationConstants.RationalP4), t2,
                Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref k, ActivationConstants.RationalP3), t, Vector256.LoadUnsafe(ref k, ActivationConstants.RationalP2))),
            x * Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref k, ActivationConstants.RationalP1), t, Vector256.LoadUnsafe(ref k, ActivationConstants.RationalP0)));
        var denominator = Vector256.MultiplyAddEstimate(t2,
            Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref k, ActivationConstants.RationalQ4), t2,
                Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref k, ActivationConstants.RationalQ3), t, Vector256.LoadUnsafe(ref k, ActivationConstants.RationalQ2))),
            Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref k, ActivationConstants.RationalQ1), t, Vector256.LoadUnsafe(ref ActivationConstants.Table, ActivationConstants.One)));
        var result = Vector256.LoadUnsafe(ref k, ActivationConstants.Offset) + numerator / denominator;
        return Vector256.MinNative(Vector256.LoadUnsafe(ref k, ActivationConstants.Upper), Vector256.MaxNative(Vector256.LoadUnsafe(ref k, ActivationConstants.Lower), result));
    }
}

/// <summary>max(0, x), exact.</summary>
public readonly struct ReluOperator
{
    /// <summary>max(0, x) for one value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x) => MathF.Max(x, 0f);

    /// <summary>max(0, x) for each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x) => Vector128.Max(x, Vector128<float>.Zero);

    /// <summary>max(0, x) for each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x) => Vector256.Max(x, Vector256<float>.Zero);

    /// <summary>max(0, x) for each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x) => Vector512.Max(x, Vector512<float>.Zero);
}

/// <summary>x for x &gt; 0, else slope·x (PyTorch's <c>leaky_relu</c>), exact.</summary>
public readonly struct LeakyReluOperator
{
    /// <summary>Leaky ReLU of one value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x, float slope) => x > 0f ? x : x * slope;

    /// <summary>Leaky ReLU of each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x, float slope) =>
        Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<float>.Zero), x, x * slope);

    /// <summary>Leaky ReLU of each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x, float slope) =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), x, x * slope);

    /// <summary>Leaky ReLU of each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x, float slope) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), x, x * slope);
}

/// <summary>Softmax over a short vector (the dense head's outputs), on <see cref="ExpOperator"/>.</summary>
public static class Softmax
{
    /// <summary>Replaces <paramref name="values"/> by softmax(values), shifted by the max for range safety.</summary>
    public static void InPlace(Span<float> values)
    {
        float max = float.NegativeInfinity;
        foreach (float v in values)
        {
            max = MathF.Max(max, v);
        }

        float sum = 0f;
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = ExpOperator.Invoke(values[i] - max);
            sum += values[i];
        }

        float inverse = 1f / sum;
        for (int i = 0; i < values.Length; i++)
        {
            values[i] *= inverse;
        }
    }
}
