using System.Diagnostics;
using Embedded.Rnn;
using Embedded.Rnn.Samples;
using Embedded.Rnn.Training;

// Flags anomalies by the prediction error of a GRU (trained by our trainer, run by the generated kernels) on two
// real series with known events: the Nile's 1899 level shift and CO2 weeks where we injected anomalies.
return SampleOptions.Run(args, "Flag anomalies by GRU prediction error: the Nile's 1899 level shift and anomalies injected into weekly CO2.", options =>
{
    var clock = Stopwatch.StartNew();
    var nile = NileLevelShift.Run(options);
    Console.WriteLine();
    var co2 = Co2InjectedAnomalies.Run(options);
    Console.WriteLine();
    Console.WriteLine($"Time: {clock.Elapsed.TotalSeconds:F1} s wall, {Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds:F1} s CPU");
    var failures = nile.Failures.Concat(co2.Failures).ToList();
    if (failures.Count > 0)
    {
        Console.WriteLine("FAIL: " + string.Join("; ", failures));
        return 1;
    }

    Console.WriteLine($"PASS: Nile precision {nile.Score.Precision:P0} recall {nile.Score.Recall:P0}; CO2 precision {co2.Score.Precision:P0} recall {co2.Score.Recall:P0}");
    return 0;
});

/// <summary>Predicts next year's Nile flow from the previous ten.</summary>
[RnnModel("models/nile_predictor.rnn.json")]
internal sealed partial class NilePredictor { }

/// <summary>Predicts next week's CO2 change from the previous 26 weeks.</summary>
[RnnModel("models/co2_predictor.rnn.json")]
internal sealed partial class Co2Predictor { }

/// <summary>What one detection reports.</summary>
internal sealed record DetectionOutcome(DetectionScore Score, IReadOnlyList<string> Failures);

internal static class Checks
{
    public static List<string> Floors(string name, DetectionScore score, double precisionFloor, double recallFloor)
    {
        var failures = new List<string>();
        if (score.Precision < precisionFloor)
        {
            failures.Add($"{name}: precision {score.Precision:P0} is below the floor {precisionFloor:P0}");
        }

        if (score.Recall < recallFloor)
        {
            failures.Add($"{name}: recall {score.Recall:P0} is below the floor {recallFloor:P0}");
        }

        return failures;
    }
}

/// <summary>
/// The Nile at Aswan, 1871-1970: annual flow dropped by about a fifth from 1899 (the first Aswan dam was begun in
/// 1898 and the climate changed; Cobb 1978). A level shift is a lasting change in the mean of the prediction
/// errors, which one extreme year (such as 1913) is not, so the score of year t compares the mean one-step error
/// over years t..t+7 with the mean over t-8..t-1, in units of the difference's standard error. It is a
/// retrospective detector: a flag for year t is known in year t+7.
/// </summary>
internal static class NileLevelShift
{
    private const int Window = 10;          // years of history per prediction
    private const int RunYears = 8;         // years averaged on each side by the shift score
    private const int ReferenceFromYear = 1921; // the model learns normal years from 1921-1970
    private const ulong ModelSeed = 3;
    // |shift score| that flags: about 75 years are scored, and for a normal score P(|z| > 3.5) × 75 ≈ 0.035, so a
    // series without a shift raises a false flag about once in 30 (a Bonferroni-style family-wise bound).
    private const double Threshold = 3.5;
    private const int EventYear = 1899;     // first year at the lower level
    private const int ToleranceYears = 2;   // a flag within ±2 years of 1899 detects the event
    private const double PrecisionFloor = 0.5, RecallFloor = 1.0;

    public static DetectionOutcome Run(SampleOptions options)
    {
        var table = CsvTable.Read(DataFiles.Path("nile.csv"));
        var years = table.Numbers("year").Select(v => (int)v).ToArray();
        var flow = table.Numbers("volume");
        Console.WriteLine($"Nile at Aswan (data/nile.csv): annual flow, {years[0]} .. {years[^1]} ({flow.Length} years, 10^8 m^3).");

        // As in any anomaly detection, the model learns what normal years look like from a reference period that
        // is assumed free of the event, here the last 50 years (targets 1921-1970), and is then run over every
        // year. It never sees the event's position. Values are standardised with the reference period's statistics.
        int referenceStart = Array.IndexOf(years, ReferenceFromYear);
        var (mean, deviation) = TimeSeries.MeanAndDeviation(flow[referenceStart..].Select(v => (double)v));
        var x = flow.Select(v => (v - mean) / deviation).ToArray();
        var examples = Enumerable.Range(referenceStart, flow.Length - referenceStart)
            .Select(t => new TrainingExample(x[(t - Window)..t], [x[t]]))
            .ToArray();
        var model = NilePredictor.FromParameters(RnnTrainer.InitialParameters(NilePredictor.Shape, NilePredictor.Parameters, seed: ModelSeed));
        var trainingOptions = new TrainingOptions
        {
            Epochs = options.Fast ? 15 : 60,
            BatchSize = 8,
            LearningRate = 5e-3f,
            WeightDecay = 1e-2f,
            Optimizer = OptimizerKind.AdamW,
            ClipGradientNorm = 1f,
            ValidationFraction = 0.2f,
            EarlyStoppingPatience = 10,
            Seed = ModelSeed,
            Workers = options.Workers ?? Environment.ProcessorCount,
            Progress = new ConsoleProgress(),
        };
        Console.WriteLine($"Training a GRU ({NilePredictor.HiddenSize} hidden, kernel path {model.Path}) to predict a year from the {Window} before it, "
            + $"on the reference years {ReferenceFromYear} .. {years[^1]} ({examples.Length} examples, a fifth held out for early stopping):");
        using (var trainer = new RnnTrainer(model, trainingOptions))
        {
            var result = trainer.Fit(examples);
            Console.WriteLine($"Trained {result.Epochs.Count} epochs{(result.StoppedEarly ? " (stopped early, best weights kept)" : "")}.");
        }

        // One-step predictions for every year with ten years before it, through the generated kernels.
        var predicted = new double[flow.Length];
        Array.Fill(predicted, double.NaN);
        Span<float> output = stackalloc float[NilePredictor.OutputSize];
        for (int t = Window; t < flow.Length; t++)
        {
            var state = default(NilePredictor.State);
            for (int k = t - Window; k < t; k++)
            {
                model.Step(x.AsSpan(k, 1), ref state, output);
            }

            predicted[t] = output[0] * deviation + mean;
        }

        // The same detector on the errors of a model-free predictor (the mean of the previous ten years) is the baseline.
        var baselinePredicted = flow.Select((_, t) => t < Window ? double.NaN : flow[(t - Window)..t].Average()).ToArray();
        var (shift, scale) = ShiftScores(flow.Select((v, t) => v - predicted[t]).ToArray(), referenceStart);
        var (baselineShift, _) = ShiftScores(flow.Select((v, t) => v - baselinePredicted[t]).ToArray(), referenceStart);
        int eventIndex = Array.IndexOf(years, EventYear);
        var baselineScore = AnomalyScoring.Score(AnomalyScoring.FlagPeaks(baselineShift, Threshold), [eventIndex], ToleranceYears);

        var flags = AnomalyScoring.FlagPeaks(shift, Threshold);
        var score = AnomalyScoring.Score(flags, [eventIndex], ToleranceYears);
        Console.WriteLine($"One-step errors on the reference years: robust σ (1.4826 × MAD) = {scale:F0}. Shift score of year t = (mean error over t..t+{RunYears - 1} - mean over t-{RunYears}..t-1) / (σ·√(2/{RunYears})); "
            + $"a run of years with |score| > {Threshold} is flagged once, at its largest |score|.");
        int runnerUp = Enumerable.Range(0, flow.Length).Where(t => !double.IsNaN(shift[t]) && Math.Abs(t - eventIndex) >= RunYears).MaxBy(t => Math.Abs(shift[t]));
        Console.WriteLine($"Flagged: {(flags.Length == 0 ? "none" : string.Join(", ", flags.Select(f => $"{years[f]} (score {shift[f]:F1})")))}; "
            + $"known event: the level shift in {EventYear} (a flag within ±{ToleranceYears} years counts). "
            + $"Largest |score| of a year whose windows do not reach {EventYear}: {years[runnerUp]} ({shift[runnerUp]:F1}).");
        Console.WriteLine($"Nile: precision {score.Precision:P0} ({score.CorrectFlags}/{score.Flags} flags correct), recall {score.Recall:P0} ({score.DetectedEvents}/{score.Events} events); "
            + $"baseline (same detector, prediction = mean of the previous {Window} years): precision {baselineScore.Precision:P0} ({baselineScore.CorrectFlags}/{baselineScore.Flags}), recall {baselineScore.Recall:P0}");

        WriteChart(options, years, flow, predicted, flags);
        return new DetectionOutcome(score, Checks.Floors("Nile", score, PrecisionFloor, RecallFloor));
    }

    /// <summary>The shift score of every year (NaN where a side is incomplete) and the robust σ of the reference years' errors.</summary>
    private static (double[] Scores, double Scale) ShiftScores(double[] errors, int referenceStart)
    {
        var (_, scale) = AnomalyScoring.RobustCenterAndScale(errors[referenceStart..]);
        var shift = new double[errors.Length];
        Array.Fill(shift, double.NaN);
        for (int t = Window + RunYears; t + RunYears <= errors.Length; t++)
        {
            double after = errors.AsSpan(t, RunYears).ToArray().Average();
            double before = errors.AsSpan(t - RunYears, RunYears).ToArray().Average();
            shift[t] = (after - before) / (scale * Math.Sqrt(2.0 / RunYears));
        }

        return (shift, scale);
    }

    private static void WriteChart(SampleOptions options, int[] years, float[] flow, double[] predicted, int[] flags)
    {
        var plot = new ScottPlot.Plot();
        var xs = years.Select(y => (double)y).ToArray();
        var measured = plot.Add.Scatter(xs, flow.Select(v => (double)v).ToArray());
        measured.LegendText = "measured flow";
        measured.Color = ScottPlot.Colors.Black;
        measured.MarkerSize = 4;
        var prediction = plot.Add.Scatter(xs[Window..], predicted[Window..]);
        prediction.LegendText = $"GRU prediction from the previous {Window} years ";
        prediction.Color = ScottPlot.Colors.RoyalBlue;
        prediction.MarkerSize = 0;
        prediction.LineWidth = 2;
        var eventLine = plot.Add.VerticalLine(EventYear);
        eventLine.Color = ScottPlot.Colors.Orange;
        eventLine.LineWidth = 2;
        eventLine.LinePattern = ScottPlot.LinePattern.Dashed;
        eventLine.LegendText = $"known level shift ({EventYear}, tolerance ±{ToleranceYears} years)";
        var flagged = plot.Add.Markers(flags.Select(f => xs[f]).ToArray(), flags.Select(f => (double)flow[f]).ToArray(), ScottPlot.MarkerShape.OpenCircle, 18, ScottPlot.Colors.Red);
        flagged.LegendText = "flagged by the shift score";
        flagged.MarkerLineWidth = 3;
        plot.Title("Nile flow at Aswan: level shift detected from GRU prediction errors");
        plot.XLabel("year");
        plot.YLabel("annual flow (10^8 m^3)");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        Charts.Save(plot, options.Output("nile-anomalies.png"));
    }
}

/// <summary>
/// Weekly Mauna Loa CO2 with anomalies we inject at seeded weeks of the test period (1997-2001): single-week spikes
/// and lasting level shifts. A GRU trained on the clean 1958-1996 weeks predicts each week's change from the 26
/// weeks before; a week whose error is more than 4 robust σ from the median is flagged.
/// </summary>
internal static class Co2InjectedAnomalies
{
    private const int Window = 26;            // weeks of history per prediction
    private const int TestWeeks = 260;        // the last five years, as in the forecasting sample
    private const double Threshold = 4.0;     // |robust z| of the one-step error that flags
    private const int ToleranceWeeks = 2;     // a spike also disturbs the next week's prediction (it is in the input)
    private const int Spikes = 6, Shifts = 3; // how many anomalies of each kind
    private const double SpikePpm = 3.0, ShiftPpm = 2.0;
    private const int Seed = 2026;
    private const double PrecisionFloor = 0.75, RecallFloor = 0.75;

    public static DetectionOutcome Run(SampleOptions options)
    {
        var series = TimeSeries.ReadDatedCsv(DataFiles.Path("co2.csv"), "date", "co2");
        var (dates, clean) = (series.Dates, series.Values);
        int n = clean.Length;
        int testStart = n - TestWeeks;
        Console.WriteLine($"Mauna Loa weekly CO2 (data/co2.csv): {n} weeks, {series.FilledIndices.Length} missing weeks filled by linear interpolation "
            + $"between their observed neighbours; training {dates[0]:yyyy-MM-dd} .. {dates[testStart - 1]:yyyy-MM-dd} (clean), test {dates[testStart]:yyyy-MM-dd} .. {dates[^1]:yyyy-MM-dd}.");

        var (y, events, kinds) = Inject(clean, testStart);
        Console.WriteLine($"Injected (seed {Seed}) {Spikes} spikes of ±{SpikePpm} ppm for one week and {Shifts} level shifts of ±{ShiftPpm} ppm lasting to the end of the series, "
            + "one per equal slot of the test period, at least 10 weeks apart:");
        Console.WriteLine("  " + string.Join(", ", events.Select((e, i) => $"{dates[e]:yyyy-MM-dd} {kinds[i]}")));

        // Features per week: the weekly change (standardised with training statistics) and the season (sin, cos of
        // the day of the year). The target is next week's change: the level itself never enters, so a level shift
        // disturbs one prediction rather than every later one.
        var change = Enumerable.Range(1, testStart - 1).Select(s => (double)clean[s] - clean[s - 1]);
        var (changeMean, changeDeviation) = TimeSeries.MeanAndDeviation(change);
        float[] Inputs(float[] values, int origin)
        {
            var x = new float[Window * Co2Predictor.InputSize];
            for (int k = 0; k < Window; k++)
            {
                int s = origin - Window + 1 + k;
                var (sin, cos) = TimeSeries.SeasonOf(dates[s]);
                x[k * 3] = (values[s] - values[s - 1] - changeMean) / changeDeviation;
                x[k * 3 + 1] = sin;
                x[k * 3 + 2] = cos;
            }

            return x;
        }

        var examples = Enumerable.Range(Window, testStart - 1 - Window)
            .Select(t => new TrainingExample(Inputs(clean, t), [(clean[t + 1] - clean[t] - changeMean) / changeDeviation]))
            .ToArray();
        var model = Co2Predictor.FromParameters(RnnTrainer.InitialParameters(Co2Predictor.Shape, Co2Predictor.Parameters, seed: 5));
        var trainingOptions = new TrainingOptions
        {
            Epochs = options.Fast ? 4 : 15,
            BatchSize = 32,
            LearningRate = 3e-3f,
            Optimizer = OptimizerKind.Adam,
            Schedule = LearningRateSchedule.Cosine,
            ClipGradientNorm = 1f,
            ValidationFraction = 0.1f,
            Seed = 5,
            Workers = options.Workers ?? Environment.ProcessorCount,
            Progress = new ConsoleProgress(),
        };
        Console.WriteLine($"Training a GRU ({Co2Predictor.HiddenSize} hidden, kernel path {model.Path}) to predict next week's change, on the clean training weeks ({examples.Length} examples):");
        using (var trainer = new RnnTrainer(model, trainingOptions))
        {
            trainer.Fit(examples);
        }

        double[] OneStepErrors(float[] values, int from, int to)
        {
            var errors = new double[to - from];
            var outputs = new float[Window * Co2Predictor.OutputSize];
            for (int t = from; t < to; t++)
            {
                var state = default(Co2Predictor.State);
                model.Run(Inputs(values, t - 1), ref state, outputs);
                double predicted = values[t - 1] + (outputs[^1] * changeDeviation + changeMean);
                errors[t - from] = values[t] - predicted;
            }

            return errors;
        }

        // The error scale comes from the clean training weeks of the last ten training years, never from the test.
        var (center, scale) = AnomalyScoring.RobustCenterAndScale(OneStepErrors(clean, testStart - 520, testStart));
        var testErrors = OneStepErrors(y, testStart, n);
        var z = testErrors.Select(e => (e - center) / scale).ToArray();
        var flags = AnomalyScoring.FlagPeaks(z, Threshold).Select(f => f + testStart).ToArray();
        var score = AnomalyScoring.Score(flags, events, ToleranceWeeks);
        var cleanFlags = AnomalyScoring.FlagPeaks(OneStepErrors(clean, testStart, n).Select(e => (e - center) / scale).ToArray(), Threshold);

        // Baseline: the same detector on the errors of a model-free predictor (next week = this week).
        double[] LastValueErrors(float[] values, int from, int to) => Enumerable.Range(from, to - from).Select(t => (double)values[t] - values[t - 1]).ToArray();
        var (baselineCenter, baselineScale) = AnomalyScoring.RobustCenterAndScale(LastValueErrors(clean, testStart - 520, testStart));
        var baselineFlags = AnomalyScoring.FlagPeaks(LastValueErrors(y, testStart, n).Select(e => (e - baselineCenter) / baselineScale).ToArray(), Threshold).Select(f => f + testStart).ToArray();
        var baselineScore = AnomalyScoring.Score(baselineFlags, events, ToleranceWeeks);
        Console.WriteLine($"One-step errors on clean 1987-1996 weeks: median {center:F3} ppm, robust σ (1.4826 × MAD) {scale:F3} ppm; flag when |error - median| > {Threshold} σ "
            + "(a run of consecutive weeks is flagged once, at its largest).");
        Console.WriteLine($"Flagged: {string.Join(", ", flags.Select(f => $"{dates[f]:yyyy-MM-dd} ({z[f - testStart]:+0.0;-0.0} σ){(events.Any(e => Math.Abs(e - f) <= ToleranceWeeks) ? "" : " false")}"))}");
        Console.WriteLine($"The same detector on the clean test weeks flags: {(cleanFlags.Length == 0 ? "none" : string.Join(", ", cleanFlags.Select(f => $"{dates[f + testStart]:yyyy-MM-dd}")))} "
            + "(natural outliers; flagged again above, they count as false flags).");
        Console.WriteLine($"CO2: precision {score.Precision:P0} ({score.CorrectFlags}/{score.Flags} flags within ±{ToleranceWeeks} weeks of an injected anomaly), "
            + $"recall {score.Recall:P0} ({score.DetectedEvents}/{score.Events} anomalies found); baseline (same detector, prediction = last week's value): "
            + $"precision {baselineScore.Precision:P0} ({baselineScore.CorrectFlags}/{baselineScore.Flags}), recall {baselineScore.Recall:P0} ({baselineScore.DetectedEvents}/{baselineScore.Events})");

        WriteChart(options, dates, clean, y, testStart, events, flags);
        return new DetectionOutcome(score, Checks.Floors("CO2", score, PrecisionFloor, RecallFloor));
    }

    /// <summary>Copies <paramref name="clean"/> and injects the anomalies at seeded, well separated test weeks.</summary>
    private static (float[] Values, int[] Events, string[] Kinds) Inject(float[] clean, int testStart)
    {
        // One anomaly per equal slot of the test period (after a first window), at a seeded week inside the slot
        // that keeps it at least 10 weeks from its neighbours; which slots get level shifts is seeded too.
        var random = new Random(Seed);
        var values = (float[])clean.Clone();
        int count = Spikes + Shifts;
        int first = testStart + Window;
        int slot = (clean.Length - 1 - first) / count;
        var positions = Enumerable.Range(0, count).Select(k => first + k * slot + 5 + random.Next(slot - 10)).ToArray();
        var isShift = Enumerable.Range(0, count).Select(k => k < Shifts).OrderBy(_ => random.Next()).ToArray();
        var kinds = new string[count];
        for (int i = 0; i < count; i++)
        {
            double sign = random.Next(2) == 0 ? -1 : 1;
            int at = positions[i];
            if (!isShift[i])
            {
                values[at] += (float)(sign * SpikePpm);
                kinds[i] = $"spike {sign * SpikePpm:+0.0;-0.0} ppm";
            }
            else
            {
                for (int t = at; t < values.Length; t++)
                {
                    values[t] += (float)(sign * ShiftPpm);
                }

                kinds[i] = $"shift {sign * ShiftPpm:+0.0;-0.0} ppm";
            }
        }

        return (values, positions, kinds);
    }
    private static void WriteChart(SampleOptions options, DateOnly[] dates, float[] clean, float[] y, int testStart, int[] events, int[] flags)
    {
        static double X(DateOnly d) => d.ToDateTime(TimeOnly.MinValue).ToOADate();
        var plot = new ScottPlot.Plot();
        var test = Enumerable.Range(testStart, y.Length - testStart).ToArray();
        var original = plot.Add.Scatter(test.Select(t => X(dates[t])).ToArray(), test.Select(t => (double)clean[t]).ToArray());
        original.LegendText = "measured (before injection)";
        original.Color = ScottPlot.Colors.Gray.WithAlpha(0.6);
        original.MarkerSize = 0;
        original.LineWidth = 1;
        var injected = plot.Add.Scatter(test.Select(t => X(dates[t])).ToArray(), test.Select(t => (double)y[t]).ToArray());
        injected.LegendText = "with injected anomalies (what the detector sees)";
        injected.Color = ScottPlot.Colors.Black;
        injected.MarkerSize = 0;
        injected.LineWidth = 1.5f;
        var truth = plot.Add.Markers(events.Select(e => X(dates[e])).ToArray(), events.Select(e => (double)y[e]).ToArray(), ScottPlot.MarkerShape.FilledDiamond, 10, ScottPlot.Colors.Orange);
        truth.LegendText = "injected anomaly (spike or start of a level shift)";
        var flagged = plot.Add.Markers(flags.Select(f => X(dates[f])).ToArray(), flags.Select(f => (double)y[f]).ToArray(), ScottPlot.MarkerShape.OpenCircle, 20, ScottPlot.Colors.Red);
        flagged.LegendText = "flagged by the GRU's one-step error";
        flagged.MarkerLineWidth = 2.5f;
        plot.Axes.DateTimeTicksBottom();
        plot.Title("Mauna Loa CO2, 1997-2001, with injected anomalies: weeks flagged by GRU prediction error");
        plot.XLabel("date (weekly values)");
        plot.YLabel("CO2 (ppm)");
        plot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        Charts.Save(plot, options.Output("co2-anomalies.png"));
    }
}
