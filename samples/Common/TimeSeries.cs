using System.Globalization;
using Embedded.Rnn.Training;

namespace Embedded.Rnn.Samples;

/// <summary>A dated series whose missing values have been filled.</summary>
/// <param name="Dates">One date per value, in order.</param>
/// <param name="Values">The values, with every gap filled.</param>
/// <param name="FilledIndices">The positions that were missing and are now interpolated.</param>
public sealed record FilledSeries(DateOnly[] Dates, float[] Values, int[] FilledIndices);

/// <summary>Preprocessing and baselines for the forecasting and anomaly samples, kept here so tests can check them.</summary>
public static class TimeSeries
{
    /// <summary>
    /// Reads a CSV file with a <c>yyyyMMdd</c> date column and a numeric column that may have empty fields, and
    /// fills each gap by linear interpolation between its observed neighbours (see <see cref="FillGapsLinearly"/>).
    /// </summary>
    /// <exception cref="CsvFormatException">The file is malformed, or a date cannot be read (the message names the line).</exception>
    /// <exception cref="ArgumentException">The series starts or ends with a missing value.</exception>
    public static FilledSeries ReadDatedCsv(string path, string dateColumn, string valueColumn)
    {
        var table = CsvTable.Read(path, new CsvReadOptions { TextColumns = [dateColumn], Missing = MissingValues.AsNaN });
        var texts = table.Texts(dateColumn);
        var dates = new DateOnly[texts.Length];
        for (int row = 0; row < texts.Length; row++)
        {
            if (!DateOnly.TryParseExact(texts[row], "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out dates[row]))
            {
                throw new CsvFormatException(path, table.LineOf(row), table.Columns.ToList().IndexOf(dateColumn) + 1,
                    $"'{texts[row]}' is not a date in yyyyMMdd form.");
            }
        }

        var values = table.Numbers(valueColumn);
        int[] filled = FillGapsLinearly(values);
        return new FilledSeries(dates, values, filled);
    }

    /// <summary>
    /// Replaces every run of NaN in <paramref name="values"/> by the straight line between the observed values on
    /// either side (the values are assumed equally spaced). Returns the filled positions.
    /// </summary>
    /// <exception cref="ArgumentException">The first or last value is missing: there is no neighbour to interpolate from.</exception>
    public static int[] FillGapsLinearly(Span<float> values)
    {
        if (values.Length == 0)
        {
            return [];
        }

        if (float.IsNaN(values[0]) || float.IsNaN(values[^1]))
        {
            throw new ArgumentException("the series starts or ends with a missing value; only gaps between two observations can be interpolated.", nameof(values));
        }

        var filled = new List<int>();
        int i = 1;
        while (i < values.Length)
        {
            if (!float.IsNaN(values[i]))
            {
                i++;
                continue;
            }

            int before = i - 1;
            int after = i;
            while (float.IsNaN(values[after]))
            {
                after++;
            }

            double step = (values[after] - (double)values[before]) / (after - before);
            for (int k = before + 1; k < after; k++)
            {
                values[k] = (float)(values[before] + step * (k - before));
                filled.Add(k);
            }

            i = after + 1;
        }

        return [.. filled];
    }

    /// <summary>The position of the observation dated closest to the same calendar day one year before
    /// <paramref name="dates"/>[<paramref name="index"/>] (ties go to the earlier one), or -1 when the series
    /// starts after that day. For weekly data this is 52 weeks back (364 days, the nearest to 365 or 366), but the
    /// calendar decides, not a fixed lag.</summary>
    public static int SameTimeLastYear(IReadOnlyList<DateOnly> dates, int index)
    {
        ArgumentNullException.ThrowIfNull(dates);
        var target = dates[index].AddYears(-1);
        if (dates[0].DayNumber > target.DayNumber)
        {
            return -1;
        }

        int best = -1;
        int bestDistance = int.MaxValue;
        for (int k = index; k >= 0; k--)
        {
            int distance = Math.Abs(dates[k].DayNumber - target.DayNumber);
            if (distance <= bestDistance)
            {
                best = k;
                bestDistance = distance;
            }
            else if (dates[k].DayNumber < target.DayNumber)
            {
                break;
            }
        }

        return best;
    }

    /// <summary>The least-squares line through (i, values[i]) for i in [0, count): value ≈ intercept + slope·i.</summary>
    public static (double Intercept, double Slope) LeastSquaresLine(ReadOnlySpan<float> values)
    {
        if (values.Length < 2)
        {
            throw new ArgumentException("a line needs at least two points.", nameof(values));
        }

        double meanX = (values.Length - 1) / 2.0;
        double meanY = 0;
        foreach (float v in values)
        {
            meanY += v;
        }

        meanY /= values.Length;
        double sxy = 0;
        double sxx = 0;
        for (int i = 0; i < values.Length; i++)
        {
            sxy += (i - meanX) * (values[i] - meanY);
            sxx += (i - meanX) * (i - meanX);
        }

        double slope = sxy / sxx;
        return (meanY - slope * meanX, slope);
    }

    /// <summary>Root mean squared difference of two equally long sequences.</summary>
    public static double Rmse(ReadOnlySpan<double> forecast, ReadOnlySpan<double> actual)
    {
        if (forecast.Length != actual.Length || forecast.Length == 0)
        {
            throw new ArgumentException($"RMSE needs two non-empty sequences of the same length; got {forecast.Length} and {actual.Length}.");
        }

        double sum = 0;
        for (int i = 0; i < forecast.Length; i++)
        {
            double e = forecast[i] - actual[i];
            sum += e * e;
        }

        return Math.Sqrt(sum / forecast.Length);
    }

    /// <summary>Mean and (population) standard deviation; the deviation is 1 when the values are constant, so
    /// standardising by it never divides by zero.</summary>
    public static (float Mean, float Deviation) MeanAndDeviation(IEnumerable<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        double sum = 0;
        double squares = 0;
        int count = 0;
        foreach (double v in values)
        {
            sum += v;
            squares += v * v;
            count++;
        }

        if (count == 0)
        {
            throw new ArgumentException("no values.", nameof(values));
        }

        double mean = sum / count;
        double deviation = Math.Sqrt(Math.Max(0, squares / count - mean * mean));
        return ((float)mean, deviation > 1e-12 ? (float)deviation : 1f);
    }

    /// <summary>The seasonal position of a date as (sin, cos) of the angle of its day in a 365.25-day year, so
    /// 31 December and 1 January are neighbours.</summary>
    public static (float Sin, float Cos) SeasonOf(DateOnly date)
    {
        double angle = 2 * Math.PI * (date.DayOfYear - 1) / 365.25;
        return ((float)Math.Sin(angle), (float)Math.Cos(angle));
    }
}
