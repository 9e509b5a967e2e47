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
    public const int Int8Limit = WeightRounding.Int8Limit;

    /// <summary>In a stored int8 file, the suffix of the F32 tensor holding a weight matrix's row scales: <c>weight_ih_l0.scale</c>.</summary>
    public const string ScaleSuffix = ".scale";

    /// <summary>
    /// <paramref name="value"/> as bfloat16 bits: the upper 16 bits of the float32, rounded to nearest even. A finite value
    /// that rounds past the largest finite bfloat16 saturates to it; infinities and NaN stay what they are.
    /// </summary>
    public static ushort ToBFloat16(float value) => WeightRounding.ToBFloat16(value);

    /// <summary>The float32 a bfloat16 holds (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float FromBFloat16(ushort bits) => WeightRounding.FromBFloat16(bits);

    /// <summary>
    /// The int8 scale of one weight row: its largest magnitude / 127, so that the largest weight maps to ±127. A row of
    /// zeros gets scale 1 (its weights are 0 at any scale).
    /// </summary>
    /// <exception cref="ArgumentException">A weight is NaN or infinite: it has no int8 value.</exception>
    public static float RowScale(ReadOnlySpan<float> row) => WeightRounding.RowScale(row);

    /// <summary><paramref name="value"/> / <paramref name="scale"/> rounded to nearest even, saturated to ±127.</summary>
    public static sbyte ToInt8(float value, float scale) => WeightRounding.ToInt8(value, scale);

    /// <summary>The float32 values of bfloat16 weights (a bf16 model's baked weight matrix), in a new array.</summary>
    public static float[] FromBFloat16(ReadOnlySpan<ushort> weights)
    {
        var values = new float[weights.Length];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = FromBFloat16(weights[i]);
        }

        return values;
    }

    /// <summary>
    /// The float32 values of an int8 weight matrix (an int8 model's baked weight matrix): each row's integers times its
    /// scale, in a new array. Rows written by <see cref="RowScale"/> and <see cref="ToInt8"/> round back to the same integers.
    /// </summary>
    /// <exception cref="ArgumentException">The weights are not whole rows of <paramref name="rowScales"/>.</exception>
    public static float[] FromInt8(ReadOnlySpan<sbyte> weights, ReadOnlySpan<float> rowScales)
    {
        if (rowScales.Length == 0 || weights.Length % rowScales.Length != 0)
        {
            throw new ArgumentException($"{weights.Length} weights are not whole rows of {rowScales.Length} row scales.", nameof(rowScales));
        }

        int columns = weights.Length / rowScales.Length;
        var values = new float[weights.Length];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = weights[i] * rowScales[i / columns];
        }

        return values;
    }

    /// <summary>
    /// Whether a parameter is a weight matrix (2-D: <c>weight_ih_l*</c>, <c>weight_hh_l*</c>, <c>head.weight</c>), which a
    /// narrower storage type rounds; biases (1-D) stay float32.
    /// </summary>
    public static bool IsWeightMatrix(ParameterSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.Shape.Count == 2;
    }

    // A row with a NaN or an infinity has no int8 scale: callers check every weight matrix before they write anything,
    // so that a refusal names the tensor and leaves what they write as it was.
    internal static void ThrowIfNotFiniteInt8(IReadOnlyList<ParameterSpec> specs, IReadOnlyList<float[]> parameters, string parameter)
    {
        for (int k = 0; k < specs.Count; k++)
        {
            int index = IsWeightMatrix(specs[k]) ? Safetensors.NonFiniteValues.IndexOf(parameters[k]) : -1;
            if (index >= 0)
            {
                string where = Safetensors.NonFiniteValues.Describe(specs[k].Name, specs[k].Shape.Select(d => (long)d).ToArray(), index, parameters[k][index]);
                throw new ArgumentException($"{where}; int8 weights must be finite (a row's scale is its largest magnitude).", parameter);
            }
        }
    }

    /// <summary>
    /// A model's parameters as a model storing them as <paramref name="storage"/> computes with them: every weight matrix
    /// rounded (<see cref="Round(ReadOnlySpan{float}, int, WeightStorage, Span{float})"/>), the biases copied.
    /// <paramref name="rounded"/> may be <paramref name="parameters"/> itself. Allocates nothing.
    /// </summary>
    /// <exception cref="ArgumentException">The tensors' count or lengths differ from <paramref name="specs"/>; or int8 and a weight is not finite.</exception>
    public static void Round(IReadOnlyList<ParameterSpec> specs, IReadOnlyList<float[]> parameters, WeightStorage storage, IReadOnlyList<float[]> rounded)
    {
        RnnThrow.IfParametersMismatch(parameters, specs, nameof(parameters));
        RnnThrow.IfParametersMismatch(rounded, specs, nameof(rounded));
        if (storage == WeightStorage.Int8)
        {
            ThrowIfNotFiniteInt8(specs, parameters, nameof(parameters));
        }

        for (int k = 0; k < specs.Count; k++)
        {
            if (IsWeightMatrix(specs[k]))
            {
                Round(parameters[k], specs[k].Shape[1], storage, rounded[k]);
            }
            else
            {
                parameters[k].AsSpan().CopyTo(rounded[k]);
            }
        }
    }

    /// <summary>
    /// A weight matrix (row-major, <paramref name="columns"/> per row) rounded as <paramref name="storage"/> stores it, back
    /// in float32: what a model with that precision computes with (quantisation-aware training's forward weights). The spans
    /// may be the same memory: each row's scale is taken before the row is written.
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

    /// <summary>
    /// A safetensors file of <paramref name="parameters"/> (float32, in <paramref name="specs"/> order) with the weight
    /// matrices as <paramref name="storage"/> stores them, for a model of that precision to load without rounding them
    /// again: bf16 matrices as BF16; int8 matrices as I8 plus an F32 tensor <c>NAME.scale</c> of row scales
    /// (<see cref="RowScale"/>); biases F32. Under half (bf16) or about a quarter (int8) of the float32 file.
    /// </summary>
    /// <exception cref="ArgumentException">The tensors' count or lengths differ from <paramref name="specs"/>; or int8 and a weight is not finite.</exception>
    public static Safetensors.SafetensorsWriter StoredFile(IReadOnlyList<ParameterSpec> specs, IReadOnlyList<float[]> parameters, WeightStorage storage)
    {
        RnnThrow.IfParametersMismatch(parameters, specs, nameof(parameters));
        if (storage == WeightStorage.Int8)
        {
            ThrowIfNotFiniteInt8(specs, parameters, nameof(parameters));
        }

        var writer = new Safetensors.SafetensorsWriter();
        for (int k = 0; k < specs.Count; k++)
        {
            var spec = specs[k];
            long[] shape = spec.Shape.Select(d => (long)d).ToArray();
            float[] values = parameters[k];
            if (!IsWeightMatrix(spec) || storage == WeightStorage.Float32)
            {
                writer.Add(spec.Name, values, shape);
            }
            else if (storage == WeightStorage.BFloat16)
            {
                writer.AddBFloat16(spec.Name, Array.ConvertAll(values, ToBFloat16), shape);
            }
            else
            {
                int columns = spec.Shape[1];
                var scales = new float[spec.Shape[0]];
                var q = new sbyte[values.Length];
                for (int row = 0; row < scales.Length; row++)
                {
                    scales[row] = RowScale(values.AsSpan(row * columns, columns));
                    for (int j = 0; j < columns; j++)
                    {
                        q[row * columns + j] = ToInt8(values[row * columns + j], scales[row]);
                    }
                }

                writer.AddInt8(spec.Name, q, shape).Add(spec.Name + ScaleSuffix, scales, scales.Length);
            }
        }

        return writer.AddMetadata("embedded_rnn_precision", KernelLayout.PrecisionName(storage));
    }
}
