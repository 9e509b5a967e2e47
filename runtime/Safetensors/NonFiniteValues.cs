using System.Globalization;

namespace Embedded.Rnn.Safetensors;

/// <summary>
/// The one check that weights are finite, and its message. Weights are checked at load, never in Step: a NaN weight
/// makes every output it reaches NaN, which looks like a bug in the kernels rather than in the file.
/// </summary>
internal static class NonFiniteValues
{
    /// <summary>The index of the first NaN or infinity in <paramref name="values"/>, or -1.</summary>
    public static int IndexOf(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The exception for a non-finite <paramref name="value"/> at flat <paramref name="index"/> of a tensor.</summary>
    public static SafetensorsException Exception(string tensor, IReadOnlyList<long> shape, long index, double value) =>
        new(Describe(tensor, shape, index, value) + ": a model with non-finite weights outputs NaN. Fix the checkpoint, or see SafetensorsLoadOptions.AllowNonFinite to load it anyway.");

    /// <summary>
    /// Where the value is and what it is, e.g. "tensor 'w' holds NaN at index 5 ([0, 5] in shape [4, 8])": the start of
    /// every message about a non-finite weight.
    /// </summary>
    public static string Describe(string tensor, IReadOnlyList<long> shape, long index, double value)
    {
        // The index in the tensor's shape, row-major, so it can be looked up as t[i, j] in PyTorch.
        var position = new long[shape.Count];
        long rest = index;
        for (int d = shape.Count - 1; d >= 0; d--)
        {
            position[d] = shape[d] == 0 ? 0 : rest % shape[d];
            rest = shape[d] == 0 ? rest : rest / shape[d];
        }

        string at = shape.Count > 1 ? $"index {index} ({SafetensorsTensor.FormatShape(position)} in shape {SafetensorsTensor.FormatShape(shape)})" : $"index {index}";
        string what = double.IsNaN(value) ? "NaN" : value > 0 ? "+Infinity" : "-Infinity";
        return string.Create(CultureInfo.InvariantCulture, $"tensor '{tensor}' holds {what} at {at}");
    }
}
