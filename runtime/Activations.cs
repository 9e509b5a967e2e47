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
/// Logistic sigmoid 1 / (1 + e^-x) on <see cref="ExpOperator"/>. Max absolute error 1e-7 over all inputs
/// (<c>ActivationTests</c> measures 8.8e-8).
/// </summary>
public readonly struct SigmoidOperator
{
    /// <summary>σ(x) for one value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x) => 1f / (1f + ExpOperator.Invoke(-x));

    /// <summary>σ(x) for each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x) => Vector128<float>.One / (Vector128<float>.One + ExpOperator.Invoke(-x));

    /// <summary>σ(x) for each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x) => Vector256<float>.One / (Vector256<float>.One + ExpOperator.Invoke(-x));

    /// <summary>σ(x) for each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x) => Vector512<float>.One / (Vector512<float>.One + ExpOperator.Invoke(-x));
}

/// <summary>
/// Hyperbolic tangent as 1 − 2 / (e^{2x} + 1) on <see cref="ExpOperator"/>: saturates to ±1 exactly and has
/// no overflow. Max absolute error 2e-7 over all inputs (<c>ActivationTests</c> measures 1.8e-7); near 0 the
/// error is absolute, not relative, which the 1e-5·max(1, |ref|) forward bound allows.
/// </summary>
public readonly struct TanhOperator
{
    /// <summary>tanh(x) for one value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x) => 1f - 2f / (ExpOperator.Invoke(x + x) + 1f);

    /// <summary>tanh(x) for each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x) =>
        Vector128<float>.One - Vector128.Create(2f) / (ExpOperator.Invoke(x + x) + Vector128<float>.One);

    /// <summary>tanh(x) for each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x) =>
        Vector256<float>.One - Vector256.Create(2f) / (ExpOperator.Invoke(x + x) + Vector256<float>.One);

    /// <summary>tanh(x) for each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x) =>
        Vector512<float>.One - Vector512.Create(2f) / (ExpOperator.Invoke(x + x) + Vector512<float>.One);
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

/// <summary>
/// <see cref="ExpOperator"/>'s constants for the <c>Vector256</c> path, each repeated across 64 bytes of a
/// cache-line-aligned table. Read from memory, they become memory operands; as <c>Vector256.Create</c> constants the
/// JIT hoists all ~15 into registers, and with AVX2's 16 <c>ymm</c> registers it then spills the polynomial's
/// temporaries to the stack on every activation's critical path (bench/RESULTS.md). Vector128 (Arm64: 32 registers)
/// and Vector512 (AVX-512: 32 registers) keep register constants. The table is native memory, allocated once for the
/// process: the class initialiser may run inside a caller's allocation-free hot loop, so it must not touch the GC heap.
/// </summary>
internal static unsafe class ActivationConstants
{
    // Float offsets of each constant: its index in Build's list times the floats in one 64-byte entry.
    private const nuint Stride = AlignedArrays.Alignment / sizeof(float);
    internal const nuint Min = 0 * Stride, Max = 1 * Stride, Log2E = 2 * Stride, RoundMagic = 3 * Stride, MinusLn2Hi = 4 * Stride, MinusLn2Lo = 5 * Stride;
    internal const nuint P0 = 6 * Stride, P1 = 7 * Stride, P2 = 8 * Stride, P3 = 9 * Stride, P4 = 10 * Stride, P5 = 11 * Stride;
    internal const nuint One = 12 * Stride, ExponentBias = 13 * Stride;

    private static readonly nint s_table = Build();

    internal static ref float Table
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref Unsafe.AsRef<float>((void*)s_table);
    }

    private static nint Build()
    {
        ReadOnlySpan<float> values =
        [
            ExpOperator.Min, ExpOperator.Max, ExpOperator.Log2E, ExpOperator.RoundMagic, -ExpOperator.Ln2Hi, -ExpOperator.Ln2Lo,
            ExpOperator.P0, ExpOperator.P1, ExpOperator.P2, ExpOperator.P3, ExpOperator.P4, ExpOperator.P5,
            1f, BitConverter.Int32BitsToSingle(ExpOperator.RoundMagicBits - 127),
        ];
        var table = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)values.Length * Stride * sizeof(float), AlignedArrays.Alignment);
        for (int i = 0; i < values.Length; i++)
        {
            new Span<float>(table + (nuint)i * Stride, (int)Stride).Fill(values[i]);
        }

        return (nint)table;
    }
}
