using System.Globalization;
using Embedded.Rnn.Samples;
using Embedded.Rnn.Training;
using Xunit;

namespace Embedded.Rnn.Tests;

/// <summary>The samples' preprocessing, baselines and detection scoring, checked against hand derivations.</summary>
public sealed class TimeSeriesTests
{
    [Fact]
    public void Gaps_are_filled_on_the_straight_line_between_their_neighbours()
    {
        float[] values = [1f, float.NaN, float.NaN, 4f, 10f, float.NaN, 20f, 21f];
        int[] filled = TimeSeries.FillGapsLinearly(values);

        Assert.Equal([1, 2, 5], filled);
        // 1 -> 4 over three steps: 2, 3; 10 -> 20 over two steps: 15.
        Assert.Equal([1f, 2f, 3f, 4f, 10f, 15f, 20f, 21f], values);
        Assert.Empty(TimeSeries.FillGapsLinearly(new float[] { 1f, 2f }));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void A_gap_at_either_end_cannot_be_interpolated(int missing)
    {
        var values = new float[] { 1f, 2f, 3f, 4f };
        values[missing] = float.NaN;
        var error = Assert.Throws<ArgumentException>(() => TimeSeries.FillGapsLinearly(values));
        Assert.Contains("starts or ends with a missing value", error.Message);
    }

    [Fact]
    public void The_bundled_co2_file_has_59_missing_weeks_each_filled_from_its_observed_neighbours()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "data", "co2.csv");
        var series = TimeSeries.ReadDatedCsv(path, "date", "co2");

        // The raw file, read independently: empty fields are the missing weeks.
        var raw = File.ReadLines(path).Skip(1).Select(line => line.Split(',')).ToArray();
        var missing = Enumerable.Range(0, raw.Length).Where(i => raw[i][1].Length == 0).ToArray();
        Assert.Equal(59, missing.Length);
        Assert.Equal(missing, series.FilledIndices);
        Assert.Equal(raw.Length, series.Values.Length);
        Assert.Equal(new DateOnly(1958, 3, 29), series.Dates[0]);
        Assert.All(Enumerable.Range(1, series.Dates.Length - 1), i => Assert.Equal(7, series.Dates[i].DayNumber - series.Dates[i - 1].DayNumber));

        foreach (int i in missing)
        {
            int before = i - 1;
            while (raw[before][1].Length == 0)
            {
                before--;
            }

            int after = i + 1;
            while (raw[after][1].Length == 0)
            {
                after++;
            }

            double a = double.Parse(raw[before][1], CultureInfo.InvariantCulture);
            double b = double.Parse(raw[after][1], CultureInfo.InvariantCulture);
            double expected = a + (b - a) * (i - before) / (after - before);
            Assert.Equal(expected, series.Values[i], 1e-4); // float storage of ~300 ppm: about 3e-5 resolution
        }

        Assert.All(Enumerable.Range(0, raw.Length).Except(missing), i => Assert.Equal(float.Parse(raw[i][1], CultureInfo.InvariantCulture), series.Values[i]));
    }

    [Fact]
    public void A_bad_date_names_its_line_and_column()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("ernn-ts-").FullName, "bad.csv");
        File.WriteAllText(path, "date,co2\n19580329,316.1\n1958-04-05,317.3\n");
        try
        {
            var error = Assert.Throws<CsvFormatException>(() => TimeSeries.ReadDatedCsv(path, "date", "co2"));
            Assert.Equal((3, 1), (error.Line, error.Column));
            Assert.Contains("yyyyMMdd", error.Message);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [Fact]
    public void Same_time_last_year_follows_the_calendar()
    {
        // Weekly: 52 weeks (364 days) is always nearer to the same day a year ago (365 or 366 days) than 53 weeks.
        var weekly = Enumerable.Range(0, 600).Select(k => new DateOnly(1958, 3, 29).AddDays(7 * k)).ToArray();
        Assert.Equal(-1, TimeSeries.SameTimeLastYear(weekly, 51));
        Assert.All(Enumerable.Range(53, 500), t => Assert.Equal(t - 52, TimeSeries.SameTimeLastYear(weekly, t)));

        // Daily across a leap day: 2024-03-01 a year back is 2023-03-01, 366 days earlier; 2023-03-01 is 365 back.
        var daily = Enumerable.Range(0, 900).Select(k => new DateOnly(2022, 1, 1).AddDays(k)).ToArray();
        int march2024 = Array.IndexOf(daily, new DateOnly(2024, 3, 1));
        int march2023 = Array.IndexOf(daily, new DateOnly(2023, 3, 1));
        Assert.Equal(march2023, TimeSeries.SameTimeLastYear(daily, march2024));
        Assert.Equal(march2023 - 365, TimeSeries.SameTimeLastYear(daily, march2023));
    }

    [Fact]
    public void Seasonal_naive_has_zero_error_on_a_series_that_repeats_every_52_weeks()
    {
        var dates = Enumerable.Range(0, 400).Select(k => new DateOnly(1990, 1, 6).AddDays(7 * k)).ToArray();
        var values = Enumerable.Range(0, 400).Select(k => Math.Sin(2 * Math.PI * (k % 52) / 52) + 0.1 * (k % 52 % 7)).ToArray();
        var targets = Enumerable.Range(300, 100).ToArray();
        var naive = targets.Select(t => values[TimeSeries.SameTimeLastYear(dates, t)]).ToArray();
        Assert.Equal(0, TimeSeries.Rmse(naive, targets.Select(t => values[t]).ToArray()));
    }

    [Fact]
    public void Least_squares_line_and_rmse_match_hand_derivations()
    {
        // Points (0,0), (1,1), (2,3): x̄ = 1, ȳ = 4/3, Sxy = 3, Sxx = 2, so slope 1.5 and intercept 4/3 - 1.5 = -1/6.
        var (intercept, slope) = TimeSeries.LeastSquaresLine(new float[] { 0f, 1f, 3f });
        Assert.Equal(1.5, slope, 12);
        Assert.Equal(-1.0 / 6, intercept, 12);

        var line = Enumerable.Range(0, 50).Select(i => 2.5f + 0.25f * i).ToArray();
        var fitted = TimeSeries.LeastSquaresLine(line);
        Assert.Equal(2.5, fitted.Intercept, 4);
        Assert.Equal(0.25, fitted.Slope, 6);

        Assert.Equal(Math.Sqrt(2), TimeSeries.Rmse([1.0, 2.0], [1.0, 4.0]), 12);
        Assert.Throws<ArgumentException>(() => TimeSeries.Rmse([1.0], [1.0, 2.0]));
    }

    [Fact]
    public void Season_puts_new_year_next_to_new_years_eve_and_midsummer_opposite()
    {
        var january = TimeSeries.SeasonOf(new DateOnly(2001, 1, 1));
        Assert.Equal((0f, 1f), (january.Sin, january.Cos));
        var december = TimeSeries.SeasonOf(new DateOnly(2001, 12, 31));
        Assert.True(Math.Abs(december.Sin) < 0.03 && december.Cos > 0.999);
        var july = TimeSeries.SeasonOf(new DateOnly(2001, 7, 2)); // day 183 of 365.25: angle ≈ π
        Assert.True(july.Cos < -0.999);
    }

    [Fact]
    public void Robust_scale_ignores_an_outlier()
    {
        Assert.Equal(3, AnomalyScoring.Median([5.0, 1.0, 3.0]));
        Assert.Equal(2.5, AnomalyScoring.Median([4.0, 1.0, 3.0, 2.0]));
        // Median 3; absolute deviations 2, 1, 0, 1, 97 have median 1, so σ̂ = 1.4826.
        var (center, scale) = AnomalyScoring.RobustCenterAndScale([1.0, 2.0, 3.0, 4.0, 100.0]);
        Assert.Equal(3, center);
        Assert.Equal(1.4826, scale, 12);
        Assert.Throws<ArgumentException>(() => AnomalyScoring.RobustCenterAndScale([2.0, 2.0, 2.0, 5.0]));
    }

    [Fact]
    public void A_run_above_the_threshold_is_flagged_once_at_its_peak()
    {
        double[] scores = [0, 5, 6, 0, -7, 0, double.NaN, 4, 3, -4.5];
        // Runs: {1, 2} peak 2; {4}; {7}; {9} (3 is not above 3, so 7 and 9 are separate runs).
        Assert.Equal([2, 4, 7, 9], AnomalyScoring.FlagPeaks(scores, 3));
        Assert.Empty(AnomalyScoring.FlagPeaks(scores, 7));
    }

    [Fact]
    public void Precision_and_recall_count_flags_within_the_tolerance()
    {
        // Events at 11 and 20, tolerance 2: flags 10 and 13 are near 11; flag 30 is near nothing; 20 is missed.
        var score = AnomalyScoring.Score([10, 13, 30], [11, 20], tolerance: 2);
        Assert.Equal(new DetectionScore(Flags: 3, CorrectFlags: 2, Events: 2, DetectedEvents: 1), score);
        Assert.Equal(2.0 / 3, score.Precision, 12);
        Assert.Equal(0.5, score.Recall, 12);

        // Just outside the tolerance counts as wrong; no flags at all has precision 0 and recall 0.
        Assert.Equal(0, AnomalyScoring.Score([14], [11], tolerance: 2).Precision);
        var none = AnomalyScoring.Score([], [11], tolerance: 2);
        Assert.Equal((0.0, 0.0), (none.Precision, none.Recall));
        Assert.Equal(1.0, AnomalyScoring.Score([9, 13], [11], tolerance: 2).Precision);
    }
}
