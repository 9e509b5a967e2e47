namespace Embedded.Rnn.Samples;

/// <summary>How well a set of flags matches known events.</summary>
/// <param name="Flags">Flags raised.</param>
/// <param name="CorrectFlags">Flags within the tolerance of some event.</param>
/// <param name="Events">Known events.</param>
/// <param name="DetectedEvents">Events with at least one flag within the tolerance.</param>
public readonly record struct DetectionScore(int Flags, int CorrectFlags, int Events, int DetectedEvents)
{
    /// <summary>Correct flags over all flags (0 when nothing was flagged).</summary>
    public double Precision => Flags == 0 ? 0 : (double)CorrectFlags / Flags;

    /// <summary>Detected events over all events (0 when there are no events).</summary>
    public double Recall => Events == 0 ? 0 : (double)DetectedEvents / Events;
}

/// <summary>Turning prediction errors into anomaly flags, and scoring flags against known events.</summary>
public static class AnomalyScoring
{
    /// <summary>The consistency constant that makes the median absolute deviation estimate σ for normal data.</summary>
    public const double MadToSigma = 1.4826;

    /// <summary>The median (the mean of the two middle values for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            throw new ArgumentException("no values.", nameof(values));
        }

        int middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /// <summary>
    /// A robust centre and scale of <paramref name="values"/>: the median and 1.4826 × the median absolute
    /// deviation, which estimate the mean and σ of normal data but are hardly moved by the anomalies themselves.
    /// </summary>
    /// <exception cref="ArgumentException">No values, or they are (almost all) identical, so the scale is 0.</exception>
    public static (double Center, double Scale) RobustCenterAndScale(IReadOnlyCollection<double> values)
    {
        double center = Median(values);
        double scale = MadToSigma * Median(values.Select(v => Math.Abs(v - center)));
        return scale > 0 ? (center, scale) : throw new ArgumentException("the values have no spread (median absolute deviation 0).", nameof(values));
    }

    /// <summary>
    /// One flag per run of consecutive positions whose |score| exceeds <paramref name="threshold"/>: the position in
    /// the run with the largest |score| (so one event is flagged once). NaN scores never flag.
    /// </summary>
    public static int[] FlagPeaks(ReadOnlySpan<double> scores, double threshold)
    {
        var flags = new List<int>();
        int peak = -1;
        for (int i = 0; i < scores.Length; i++)
        {
            if (Math.Abs(scores[i]) > threshold)
            {
                if (peak < 0 || Math.Abs(scores[i]) > Math.Abs(scores[peak]))
                {
                    peak = i;
                }
            }
            else if (peak >= 0)
            {
                flags.Add(peak);
                peak = -1;
            }
        }

        if (peak >= 0)
        {
            flags.Add(peak);
        }

        return [.. flags];
    }

    /// <summary>
    /// Scores <paramref name="flags"/> against <paramref name="events"/> (positions on the same axis): a flag is
    /// correct when some event is at most <paramref name="tolerance"/> positions away, and an event is detected
    /// when some flag is.
    /// </summary>
    public static DetectionScore Score(IReadOnlyCollection<int> flags, IReadOnlyCollection<int> events, int tolerance)
    {
        ArgumentNullException.ThrowIfNull(flags);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentOutOfRangeException.ThrowIfNegative(tolerance);
        int correct = flags.Count(f => events.Any(e => Math.Abs(f - e) <= tolerance));
        int detected = events.Count(e => flags.Any(f => Math.Abs(f - e) <= tolerance));
        return new DetectionScore(flags.Count, correct, events.Count, detected);
    }
}
