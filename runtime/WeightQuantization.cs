using System.Runtime.CompilerServices;

namespace Embedded.Rnn;

/// <summary>
/// How float32 weights become the narrower storage types (<see cref="WeightStorage"/>) and back: bfloat16 by rounding to
/// nearest even, int8 symmetric with one scale per weight row. The packing and the tests share these, so a stored weight
/// means the same everywhere.
/// </summary>
public static class WeightQuantization
{
    /// <summary>The largest int8 magnitude used: the range is symmetric, -127 to 127.</summary>
    public const int Int8Limit = 127;

    /// <summary>
    /// <paramref name="value"/> as bfloat16 bits: the upper 16 bits of the float32, rounded to nearest even. A finite value
    /// that rounds past the largest finite bfloat16 saturates to it; infinities and NaN stay what they are.
    /// </summary>
    public static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
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
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float FromBFloat16(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>
    /// The int8 scale of one weight row: its largest magnitude / 127, so that the largest weight maps to ±127. A row of
    /// zeros gets scale 1 (its weights are 0 at any scale).
    /// </summary>
    /// <exception cref="ArgumentException">A weight is NaN or infinite: it has no int8 value.</exception>
    public static float RowScale(ReadOnlySpan<float> row)
    {
        float largest = 0f;
        foreach (float weight in row)
        {
            if (!float.IsFinite(weight))
            {
                throw new ArgumentException($"a weight is {weight}; int8 weights must be finite.", nameof(row));
            }

            largest = Math.Max(largest, Math.Abs(weight));
        }

        return largest == 0f ? 1f : largest / Int8Limit;
    }

    /// <summary><paramref name="value"/> / <paramref name="scale"/> rounded to nearest even, saturated to ±127.</summary>
    public static sbyte ToInt8(float value, float scale) =>
        (sbyte)Math.Clamp(MathF.Round(value / scale, MidpointRounding.ToEven), -Int8Limit, Int8Limit);

    /// <summary>
    /// A weight matrix (row-major, <paramref name="columns"/> per row) rounded as <paramref name="storage"/> stores it, back
    /// in float32: what a model with that precision computes with (quantisation-aware training's forward weights).
    /// </summary>
    /// <exception cref="ArgumentException">The lengths differ or are not whole rows; or int8 and a weight is not finite.</exception>
    public static void Round(ReadOnlySpan<float> weights, int columns, WeightStorage storage, Span<float> rounded)
    {
        if (rounded.Length != weights.Length || columns <= 0 || weights.Length % columns != 0)
        {
            throw new ArgumentException($"expected whole rows of {columns} columns in both spans; got {weights.Length} and {rounded.Length} weights.", nameof(rounded));
        }

        for (int row = 0; row < weights.Length; row += columns)
        {
            var from = weights.Slice(row, columns);
            var to = rounded.Slice(row, columns);
            switch (storage)
            {
                case WeightStorage.Float32:
                    from.CopyTo(to);
                    break;
                case WeightStorage.BFloat16:
                    for (int j = 0; j < columns; j++)
                    {
                        to[j] = FromBFloat16(ToBFloat16(from[j]));
                    }

                    break;
                default:
                    float scale = RowScale(from);
                    for (int j = 0; j < columns; j++)
                    {
                        to[j] = ToInt8(from[j], scale) * scale;
                    }

                    break;
            }
        }
    }
}
