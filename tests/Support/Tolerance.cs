using Xunit;

namespace Embedded.Rnn.Tests.Support;

/// <summary>The project's bar: |got − ref| ≤ bound · max(1, |ref|) (refs/README.md).</summary>
public static class Tolerance
{
    public const double Forward = 1e-5;

    /// <summary>float values as doubles, to stand as the expected side of <see cref="AssertClose"/>.</summary>
    public static double[] Wide(float[] values) => Array.ConvertAll(values, v => (double)v);

    /// <summary>Asserts every value is within the bound; returns the largest scaled error seen.</summary>
    public static double AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, double bound, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(actual[i] - expected[i]) / Math.Max(1.0, Math.Abs(expected[i]));
            if (!(error <= bound))
            {
                Assert.Fail($"{what}[{i}]: got {actual[i]:R}, expected {expected[i]:R} (scaled error {error:E3} > {bound:E1}).");
            }

            worst = Math.Max(worst, error);
        }

        return worst;
    }
}
