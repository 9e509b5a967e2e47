using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Embedded.Rnn.Training;

/// <summary>
/// Σ v² of floats in double: float squares overflow past about 1.8e19 and underflow below about 1e-19, where a gradient
/// norm must still see them. Four running sums, so the adds do not wait on one another (one sum was a chain of 82,000
/// dependent adds per training step at LSTM (32, 128)); the order is fixed, so the result is deterministic.
/// </summary>
internal static class SquareSums
{
    public static double Of(ReadOnlySpan<float> values)
    {
        int i = 0;
        double sum = 0;
        if (Vector128.IsHardwareAccelerated && values.Length >= 8)
        {
            ref float first = ref MemoryMarshal.GetReference(values);
            Vector128<double> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; i + 8 <= values.Length; i += 8)
            {
                var low = Vector128.LoadUnsafe(ref first, (nuint)i);
                var high = Vector128.LoadUnsafe(ref first, (nuint)i + 4);
                var (a, b, c, d) = (Vector128.WidenLower(low), Vector128.WidenUpper(low), Vector128.WidenLower(high), Vector128.WidenUpper(high));
                s0 += a * a;
                s1 += b * b;
                s2 += c * c;
                s3 += d * d;
            }

            sum = Vector128.Sum((s0 + s1) + (s2 + s3));
        }

        for (; i < values.Length; i++)
        {
            sum += (double)values[i] * values[i];
        }

        return sum;
    }
}
