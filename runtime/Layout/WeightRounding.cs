// How a float32 weight becomes a narrower stored one: compiled into the runtime (packing, stored files, quantisation-
// aware training) and into the generator (weights baked in at build time), so both round the same way. Written for
// netstandard2.0 as well, hence no MathF and no bit-cast intrinsics in the generator's build.
using System;

#if EMBEDDED_RNN_GENERATOR
namespace Embedded.Rnn.Generator.Layout;
#else
namespace Embedded.Rnn;
#endif

/// <summary>The rounding rules of the storage types: bfloat16 to nearest even, int8 symmetric with one scale per row.</summary>
internal static class WeightRounding
{
    /// <summary>The largest int8 magnitude used: the range is symmetric, -127 to 127.</summary>
    public const int Int8Limit = 127;

    /// <summary>
    /// <paramref name="value"/> as bfloat16 bits: the upper 16 bits of the float32, rounded to nearest even. A finite value
    /// that rounds past the largest finite bfloat16 saturates to it; infinities and NaN stay what they are.
    /// </summary>
    public static ushort ToBFloat16(float value)
    {
        uint bits = Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x0040); // quiet, whatever the payload's low bits were
        }

        if (float.IsInfinity(value))
        {
            return (ushort)(bits >> 16);
        }

        uint rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16;
        return (rounded & 0x7FFF) == 0x7F80 ? (ushort)(rounded - 1) : (ushort)rounded;
    }

    /// <summary>The float32 a bfloat16 holds (exact).</summary>
    public static float FromBFloat16(ushort bits) =>
#if EMBEDDED_RNN_GENERATOR
        BitConverter.ToSingle(BitConverter.GetBytes((uint)bits << 16), 0);
#else
        BitConverter.UInt32BitsToSingle((uint)bits << 16);
#endif

    /// <summary>
    /// The int8 scale of one weight row: its largest magnitude / 127, so that the largest weight maps to ±127. A row of
    /// zeros gets scale 1 (its weights are 0 at any scale), and so does a row whose largest magnitude / 127 would be
    /// below the smallest normal float32 (2^-126: weights under about 1.5e-36), which is stored as zeros.
    /// </summary>
    /// <exception cref="ArgumentException">A weight is NaN or infinite: it has no int8 value.</exception>
    public static float RowScale(ReadOnlySpan<float> row)
    {
        float largest = 0f;
        foreach (float weight in row)
        {
            if (float.IsNaN(weight) || float.IsInfinity(weight))
            {
                throw new ArgumentException($"a weight is {weight}; int8 weights must be finite.", nameof(row));
            }

            largest = Math.Max(largest, Math.Abs(weight));
        }

        // A subnormal scale has lost its precision, and one that underflows to 0 turns every weight into ±127 × 0;
        // the packing divides by a row's scale besides. Such weights are far below what float32 sums can tell from 0.
        float scale = largest / Int8Limit;
        return scale < SmallestNormal ? 1f : scale;
    }

    // 2^-126: the smallest normal float32.
    private const float SmallestNormal = 1.17549435E-38f;

    /// <summary><paramref name="value"/> / <paramref name="scale"/> rounded to nearest even, saturated to ±127.</summary>
    public static sbyte ToInt8(float value, float scale)
    {
        float quotient = value / scale; // rounded to float32 before the integer rounding, on every host
        return (sbyte)Math.Max(-Int8Limit, Math.Min(Int8Limit, Math.Round(quotient, MidpointRounding.ToEven)));
    }

    private static uint Bits(float value) =>
#if EMBEDDED_RNN_GENERATOR
        BitConverter.ToUInt32(BitConverter.GetBytes(value), 0);
#else
        BitConverter.SingleToUInt32Bits(value);
#endif
}
