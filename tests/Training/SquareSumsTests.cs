using Embedded.Rnn.Training;
using Xunit;

namespace Embedded.Rnn.Tests;

/// <summary>The gradient norms' Σ v² (SquareSums): in double, over every length's vector part and tail.</summary>
public sealed class SquareSumsTests
{
    [Fact]
    public void Sums_every_square_in_double_at_every_length()
    {
        var random = new Random(3);
        for (int length = 0; length <= 41; length++)
        {
            // Magnitudes from 1e-25 to 1e25: float squares of either end would underflow to 0 or overflow to infinity.
            var values = Enumerable.Range(0, length)
                .Select(_ => (float)((random.NextDouble() * 2 - 1) * Math.Pow(10, random.Next(-25, 26))))
                .ToArray();
            double expected = values.Sum(v => (double)v * v);
            double got = SquareSums.Of(values);
            Assert.True(Math.Abs(got - expected) <= 1e-14 * expected, $"length {length}: {got:R}, expected {expected:R}");
            Assert.True(length == 0 || got > 0);
        }
    }

    [Fact]
    public void A_nan_or_an_infinity_anywhere_reaches_the_sum()
    {
        for (int at = 0; at < 19; at++)
        {
            var values = Enumerable.Repeat(1f, 19).ToArray();
            values[at] = float.NaN;
            Assert.True(double.IsNaN(SquareSums.Of(values)), $"NaN at {at}");
            values[at] = float.NegativeInfinity;
            Assert.Equal(double.PositiveInfinity, SquareSums.Of(values));
        }
    }
}
