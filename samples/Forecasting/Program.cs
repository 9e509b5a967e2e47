using System.Diagnostics;
using System.Globalization;
using Embedded.Rnn;
using Embedded.Rnn.Samples;
using Embedded.Rnn.Training;

// Forecasts weekly Mauna Loa CO2 up to a year ahead with a GRU trained by our trainer and run by the generated
// kernels, and compares it with a seasonal-naive and a linear-trend baseline on the same test weeks. With
// --precision bf16 or int8 it also runs the trained weights stored that way and compares their test RMSE.
return SampleOptions.Run(args, "Forecast weekly Mauna Loa CO2 up to 52 weeks ahead with a GRU, against seasonal-naive and linear-trend baselines.",
    PrecisionOption.Create(), (options, name) => Co2Forecast.Run(options, PrecisionOption.StorageOf(name)));

/// <summary>The forecaster: 52 weeks of history in (4 features a week), the next 52 weeks out.</summary>
[RnnModel("models/co2_forecaster.rnn.json")]
internal sealed partial class Co2Forecaster { }

/// <summary>The forecaster with bfloat16 weights; it loads the float32 forecaster's trained parameters.</summary>
[RnnModel("models/co2_forecaster_bf16.rnn.json")]
internal sealed partial class Co2ForecasterBf16 { }

/// <summary>The forecaster with int8 weights; it loads the float32 forecaster's trained (or QAT master) parameters.</summary>
[RnnModel("models/co2_forecaster_int8.rnn.json")]
internal sealed partial class Co2ForecasterInt8 { }

internal static class Co2Forecast
{
    private const int Window = 52;                       // weeks of history the model reads for one forecast
    private const int Horizon = Co2Forecaster.OutputSize; // weeks forecast at once (direct multi-step)
    private const int TestWeeks = 260;                   // the last five years are the test period
    private const int ValidationOrigins = 156;           // the last three years of training forecasts steer early stopping
    private static readonly int[] ReportedHorizons = [1, 4, 13, 26, 52];

    public static int Run(SampleOptions options, WeightStorage precision)
    {
        var clock = Stopwatch.StartNew();
        var series = TimeSeries.ReadDatedCsv(DataFiles.Path("co2.csv"), "date", "co2");
        var (dates, y) = (series.Dates, series.Values);
        int n = y.Length;
        int testStart = n - TestWeeks;
        DescribeData(series, testStart);

        // Features per week s (all standardised with training-period statistics only):
        //   weekly change y[s] - y[s-1]       what the season is doing right now
        //   yearly change y[s] - y[last year] the current growth rate, which drifts over the decades
        //   sin, cos of the day of the year   where in the seasonal cycle the week falls
        // Targets are changes y[t+h] - y[t] from the forecast origin t, one standardisation per horizon h, so the
        // model never has to reproduce the absolute level (which leaves the training range in the test years).
        int firstWeek = FirstWithLastYear(dates);
        int firstOrigin = firstWeek + Window - 1;
        int lastTrainingOrigin = testStart - 1 - Horizon; // every training target lies before the test period
        var weekly = Enumerable.Range(firstWeek, testStart - firstWeek).Select(s => (double)y[s] - y[s - 1]);
        var yearly = Enumerable.Range(firstWeek, testStart - firstWeek).Select(s => (double)y[s] - y[LastYearIndex(dates, s)]);
        var weeklyStats = TimeSeries.MeanAndDeviation(weekly);
        var yearlyStats = TimeSeries.MeanAndDeviation(yearly);
        var targetStats = Enumerable.Range(1, Horizon)
            .Select(h => TimeSeries.MeanAndDeviation(Enumerable.Range(firstOrigin, lastTrainingOrigin - firstOrigin + 1).Select(t => (double)y[t + h] - y[t])))
            .ToArray();

        float[] Inputs(int origin)
        {
            var x = new float[Window * Co2Forecaster.InputSize];
            for (int k = 0; k < Window; k++)
            {
                int s = origin - Window + 1 + k;
                var (sin, cos) = TimeSeries.SeasonOf(dates[s]);
                x[k * 4] = (y[s] - y[s - 1] - weeklyStats.Mean) / weeklyStats.Deviation;
                x[k * 4 + 1] = (y[s] - y[LastYearIndex(dates, s)] - yearlyStats.Mean) / yearlyStats.Deviation;
                x[k * 4 + 2] = sin;
                x[k * 4 + 3] = cos;
            }

            return x;
        }

        TrainingExample Example(int origin) => new(Inputs(origin),
            Enumerable.Range(1, Horizon).Select(h => (y[origin + h] - y[origin] - targetStats[h - 1].Mean) / targetStats[h - 1].Deviation).ToArray());

        int validationStart = lastTrainingOrigin - ValidationOrigins + 1;
        var training = Enumerable.Range(firstOrigin, validationStart - firstOrigin).Select(Example).ToArray();
        var validation = Enumerable.Range(validationStart, ValidationOrigins).Select(Example).ToArray();
        Console.WriteLine($"Training: {training.Length} forecasts issued {dates[firstOrigin]:yyyy-MM-dd} .. {dates[validationStart - 1]:yyyy-MM-dd}, "
            + $"validation (early stopping): {validation.Length} issued {dates[validationStart]:yyyy-MM-dd} .. {dates[lastTrainingOrigin]:yyyy-MM-dd}; "
            + $"no training or validation target is in the test period.");

        var initial = RnnTrainer.InitialParameters(Co2Forecaster.Shape, Co2Forecaster.Parameters, seed: 7);
        var model = Co2Forecaster.FromParameters(initial);
        var trainingOptions = new TrainingOptions
        {
            Epochs = options.Fast ? 6 : 60,
            BatchSize = 32,
            LearningRate = 3e-3f,
            Optimizer = OptimizerKind.Adam,
            Schedule = LearningRateSchedule.Cosine,
            ClipGradientNorm = 1f,
            EarlyStoppingPatience = options.Fast ? null : 12,
            Seed = 7,
            Workers = options.Workers ?? Environment.ProcessorCount,
            Progress = new ConsoleProgress(),
        };
        Console.WriteLine($"Model: GRU, {Co2Forecaster.InputSize} inputs, {Co2Forecaster.HiddenSize} hidden, head {Co2Forecaster.OutputSize} outputs; kernel path {model.Path}; "
            + $"{trainingOptions.Epochs} epochs{(options.Fast ? " (--fast)" : " at most (early stopping)")}");
        // Every run starts from the same weights, so a QAT run differs from the float32 one only by the rounding.
        void Train(Co2Forecaster trainee, TrainingOptions runOptions, string weightsFile)
        {
            using var trainer = new RnnTrainer(trainee, runOptions, initial);
            var result = trainer.Fit(training, validation);
            Console.WriteLine($"Trained {result.Epochs.Count} epochs{(result.StoppedEarly ? " (stopped early, best weights kept)" : "")}; best validation MSE {result.BestValidationLoss:G4} (standardised units)");
            trainer.ExportSafetensors(options.Output(weightsFile));
        }

        const string TrainedWeights = "co2_forecaster.safetensors";
        const string AwareWeights = "co2_forecaster_qat_int8.safetensors";
        Train(model, trainingOptions, TrainedWeights);
        if (precision == WeightStorage.Int8)
        {
            StorageBars.AnnounceQat();
            Train(Co2Forecaster.FromParameters(initial), trainingOptions with { FakeQuantization = WeightStorage.Int8 }, AwareWeights);
        }

        // Forecasts from every origin whose horizon reaches into the test period, run by the generated kernels; one
        // code path for the float32 model and its bf16 and int8 twins.
        int firstTestOrigin = testStart - Horizon;
        double[][] ForecastsOf<TState>(IRnnModel<TState> forecaster)
            where TState : struct, IRnnState
        {
            var forecasts = new double[n - firstTestOrigin][];
            var outputs = new float[Window * Horizon];
            for (int origin = firstTestOrigin; origin < n - 1; origin++)
            {
                var state = default(TState);
                forecaster.Run(Inputs(origin), ref state, outputs);
                var forecast = forecasts[origin - firstTestOrigin] = new double[Horizon];
                for (int k = 0; k < Horizon; k++)
                {
                    float change = outputs[(Window - 1) * Horizon + k] * targetStats[k].Deviation + targetStats[k].Mean; // the last step's output
                    forecast[k] = y[origin] + (double)change;
                }
            }

            return forecasts;
        }

        Func<int, int, double> ForecastFrom(double[][] forecasts) => (target, h) => forecasts[target - h - firstTestOrigin][h - 1];
        var forecasts = ForecastsOf(model);
        double SeasonalNaive(int target, int h)
        {
            int lastYear = LastYearIndex(dates, target);
            return target - lastYear >= h ? y[lastYear] : throw new InvalidOperationException($"same week last year is after the forecast origin for horizon {h}");
        }

        var trend = TimeSeries.LeastSquaresLine(y.AsSpan(0, testStart));
        double LinearTrend(int target, int h) => trend.Intercept + trend.Slope * target;
        double Persistence(int target, int h) => y[target - h];

        var methods = new (string Name, Func<int, int, double> Forecast)[]
        {
            ("GRU (ours)", ForecastFrom(forecasts)), ("seasonal naive", SeasonalNaive), ("linear trend", LinearTrend), ("last value", Persistence),
        };
        double Rmse(Func<int, int, double> forecast, int h) =>
            TimeSeries.Rmse(Enumerable.Range(testStart, TestWeeks).Select(t => forecast(t, h)).ToArray(), Enumerable.Range(testStart, TestWeeks).Select(t => (double)y[t]).ToArray());
        double[] RmseByHorizon(Func<int, int, double> forecast) => Enumerable.Range(1, Horizon).Select(h => Rmse(forecast, h)).ToArray();
        var rmse = methods.Select(m => RmseByHorizon(m.Forecast)).ToArray();

        Console.WriteLine();
        Console.WriteLine($"Test RMSE in ppm over the same {TestWeeks} target weeks ({dates[testStart]:yyyy-MM-dd} .. {dates[n - 1]:yyyy-MM-dd}) for each horizon:");
        Console.WriteLine($"{"horizon",-16}" + string.Concat(methods.Select(m => $"{m.Name,16}")));
        foreach (int h in ReportedHorizons)
        {
            Console.WriteLine($"{h + (h == 1 ? " week" : " weeks"),-16}" + string.Concat(rmse.Select(r => $"{r[h - 1],16:F3}")));
        }

        Console.WriteLine($"{"mean of 1..52",-16}" + string.Concat(rmse.Select(r => $"{r.Average(),16:F3}")));
        Console.WriteLine("seasonal naive: the observation dated nearest the same day a year earlier (52 weeks back); linear trend: least-squares line"
            + " over the training period, extrapolated; last value: the observation at the forecast origin (shown for context).");

        var storageFailures = new List<string>();
        if (precision != WeightStorage.Float32)
        {
            // The twins load the exported safetensors files, as a device would.
            var storages = new List<(string Name, double[] Rmse)> { ("float32", rmse[0]) };
            if (precision == WeightStorage.BFloat16)
            {
                storages.Add(("bf16", RmseByHorizon(ForecastFrom(ForecastsOf(Co2ForecasterBf16.FromSafetensors(options.Output(TrainedWeights)))))));
            }
            else
            {
                storages.Add(("int8 after training", RmseByHorizon(ForecastFrom(ForecastsOf(Co2ForecasterInt8.FromSafetensors(options.Output(TrainedWeights)))))));
                storages.Add(("int8 with QAT", RmseByHorizon(ForecastFrom(ForecastsOf(Co2ForecasterInt8.FromSafetensors(options.Output(AwareWeights)))))));
            }

            storageFailures = ReportStorages(precision, storages);
        }

        WriteCharts(options, series, testStart, forecasts, firstTestOrigin, methods, rmse);

        var process = Process.GetCurrentProcess();
        Console.WriteLine($"Time: {clock.Elapsed.TotalSeconds:F1} s wall, {process.TotalProcessorTime.TotalSeconds:F1} s CPU");

        // The sample's claim: better than both baselines at every reported horizon and on average (and, with --precision,
        // the narrower weights within their bars of float32).
        var failures = storageFailures;
        foreach (int baseline in new[] { 1, 2 })
        {
            foreach (int h in ReportedHorizons)
            {
                if (!(rmse[0][h - 1] < rmse[baseline][h - 1]))
                {
                    failures.Add($"at {h} weeks the GRU's RMSE {rmse[0][h - 1]:F3} is not below {methods[baseline].Name}'s {rmse[baseline][h - 1]:F3}");
                }
            }

            if (!(rmse[0].Average() < rmse[baseline].Average()))
            {
                failures.Add($"the GRU's mean RMSE {rmse[0].Average():F3} is not below {methods[baseline].Name}'s {rmse[baseline].Average():F3}");
            }
        }

        if (failures.Count > 0)
        {
            Console.WriteLine("FAIL: " + string.Join("; ", failures));
            return 1;
        }

        Console.WriteLine($"PASS: the GRU beats both baselines at every horizon; 1 week ahead {rmse[0][0]:F3} ppm vs seasonal naive {rmse[1][0]:F3} and linear trend {rmse[2][0]:F3}; "
            + $"mean over 1..52 weeks {rmse[0].Average():F3} vs {rmse[1].Average():F3} and {rmse[2].Average():F3}");
        return 0;
    }

    /// <summary>
    /// The GRU's test RMSE per weight storage (the first is float32) and the issue's bars on the mean over 1..52 weeks:
    /// bf16 within 1 % of float32, int8 rounded after training within 5 %, QAT recovering at least half of that gap
    /// (reported only). Returns the storage bars missed.
    /// </summary>
    private static List<string> ReportStorages(WeightStorage precision, List<(string Name, double[] Rmse)> storages)
    {
        static string Change(double value, double reference) => $"{100 * (value - reference) / reference:+0.00;-0.00;0.00} %";
        var float32 = storages[0].Rmse;

        Console.WriteLine();
        Console.WriteLine("GRU test RMSE in ppm by weight storage (the same trained parameters and forecast code; change against float32):");
        Console.WriteLine($"{"horizon",-16}" + string.Concat(storages.Select(s => $"{s.Name,26}")));
        void Row(string label, Func<double[], double> pick) =>
            Console.WriteLine($"{label,-16}" + string.Concat(storages.Select((s, i) => i == 0 ? $"{pick(s.Rmse),26:F3}" : $"{$"{pick(s.Rmse):F3} ({Change(pick(s.Rmse), pick(float32))})",26}")));
        foreach (int h in ReportedHorizons)
        {
            Row(h + (h == 1 ? " week" : " weeks"), r => r[h - 1]);
        }

        Row("mean of 1..52", r => r.Average());
        foreach (var (name, rmse) in storages.Skip(1))
        {
            int largest = Enumerable.Range(0, Horizon).MaxBy(k => Math.Abs(rmse[k] - float32[k]) / float32[k]);
            Console.WriteLine($"{name}: mean RMSE {Change(rmse.Average(), float32.Average())} against float32; largest change at any horizon {Change(rmse[largest], float32[largest])} ({largest + 1} weeks)");
        }

        var meanRmse = new StorageMetric("mean RMSE", HigherIsBetter: false, v => $"{v:F3} ppm", d => $"{d:+0.0000;-0.0000;0.0000} ppm");
        var missed = precision == WeightStorage.BFloat16
            ? StorageBars.CheckBFloat16(meanRmse, float32.Average(), storages[1].Rmse.Average(), StorageBar.Percent(1))
            : StorageBars.CheckInt8(meanRmse, float32.Average(), storages[1].Rmse.Average(), storages[2].Rmse.Average(), StorageBar.Percent(5));
        if (precision == WeightStorage.Int8)
        {
            StorageBars.ExplainQat();
        }

        return missed is null ? [] : [missed];
    }

    private static int LastYearIndex(DateOnly[] dates, int index) => TimeSeries.SameTimeLastYear(dates, index);

    private static int FirstWithLastYear(DateOnly[] dates)
    {
        int s = 1;
        while (LastYearIndex(dates, s) < 0)
        {
            s++;
        }

        return s;
    }

    private static void DescribeData(FilledSeries series, int testStart)
    {
        var filled = series.FilledIndices;
        var gaps = new List<(int Start, int Length)>();
        foreach (int i in filled)
        {
            if (gaps.Count > 0 && gaps[^1].Start + gaps[^1].Length == i)
            {
                gaps[^1] = (gaps[^1].Start, gaps[^1].Length + 1);
            }
            else
            {
                gaps.Add((i, 1));
            }
        }

        var longest = gaps.MaxBy(g => g.Length);
        Console.WriteLine($"Mauna Loa weekly CO2 (Scripps/CDIAC, data/co2.csv): {series.Values.Length} weeks, {series.Dates[0]:yyyy-MM-dd} .. {series.Dates[^1]:yyyy-MM-dd}.");
        Console.WriteLine($"{filled.Length} missing weeks in {gaps.Count} gaps (longest {longest.Length} weeks from {series.Dates[longest.Start]:yyyy-MM-dd}) "
            + $"filled by linear interpolation between the observed weeks on either side; {filled.Count(i => i >= testStart)} of them in the test period.");
        Console.WriteLine($"Split by time: training {series.Dates[0]:yyyy-MM-dd} .. {series.Dates[testStart - 1]:yyyy-MM-dd}, test {series.Dates[testStart]:yyyy-MM-dd} .. {series.Dates[^1]:yyyy-MM-dd} ({TestWeeks} weeks).");
    }

    private static void WriteCharts(SampleOptions options, FilledSeries series, int testStart, double[][] forecasts, int firstTestOrigin,
        (string Name, Func<int, int, double> Forecast)[] methods, double[][] rmse)
    {
        var (dates, y) = (series.Dates, series.Values);
        int n = y.Length;
        static double X(DateOnly d) => d.ToDateTime(TimeOnly.MinValue).ToOADate();

        var plot = new ScottPlot.Plot();
        var context = Enumerable.Range(testStart - 104, n - testStart + 104).ToArray();
        var actual = plot.Add.Scatter(context.Select(t => X(dates[t])).ToArray(), context.Select(t => (double)y[t]).ToArray());
        actual.LegendText = "measured";
        actual.Color = ScottPlot.Colors.Black;
        actual.MarkerSize = 0;
        actual.LineWidth = 1.5f;

        var test = Enumerable.Range(testStart, n - testStart).ToArray();
        var naive = plot.Add.Scatter(test.Select(t => X(dates[t])).ToArray(), test.Select(t => methods[1].Forecast(t, 52)).ToArray());
        naive.LegendText = $"seasonal naive: same week last year (RMSE {rmse[1].Average():F2} ppm)";
        naive.Color = ScottPlot.Colors.Orange;
        naive.MarkerSize = 0;
        naive.LinePattern = ScottPlot.LinePattern.Dashed;
        var trend = plot.Add.Scatter(new[] { X(dates[testStart - 104]), X(dates[n - 1]) }, new[] { methods[2].Forecast(testStart - 104, 1), methods[2].Forecast(n - 1, 1) });
        trend.LegendText = $"linear trend fitted on 1958-1996 (RMSE {rmse[2].Average():F2} ppm)";
        trend.Color = ScottPlot.Colors.Gray;
        trend.MarkerSize = 0;
        trend.LinePattern = ScottPlot.LinePattern.Dotted;
        trend.LineWidth = 2;

        // One 52-week forecast issued at the end of each year before a test year, so the chart shows what a
        // year-ahead forecast looks like rather than a line that hugs the data one week at a time.
        for (int origin = testStart - 1; origin + 1 < n; origin += Horizon)
        {
            int steps = Math.Min(Horizon, n - 1 - origin);
            var path = plot.Add.Scatter(
                Enumerable.Range(origin, steps + 1).Select(t => X(dates[t])).ToArray(),
                Enumerable.Range(0, steps + 1).Select(k => k == 0 ? y[origin] : forecasts[origin - firstTestOrigin][k - 1]).ToArray());
            path.Color = ScottPlot.Colors.RoyalBlue;
            path.MarkerSize = 0;
            path.LineWidth = 2.5f;
            path.LegendText = origin == testStart - 1 ? $"GRU: 52 weeks ahead, issued at each year's start (RMSE over 1-52 weeks ahead {rmse[0].Average():F2} ppm)" : "";
        }

        var split = plot.Add.VerticalLine(X(dates[testStart]));
        split.Color = ScottPlot.Colors.Gray;
        split.LabelText = "test period starts";
        split.LinePattern = ScottPlot.LinePattern.Dashed;

        plot.Axes.DateTimeTicksBottom();
        plot.Title("Mauna Loa CO2, test period 1997-2001: year-ahead forecasts vs measured");
        plot.YLabel("CO2 (ppm)");
        plot.XLabel("date (weekly values)");
        plot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        Charts.Save(plot, options.Output("co2-forecast.png"));

        var byHorizon = new ScottPlot.Plot();
        var horizons = Enumerable.Range(1, Horizon).Select(h => (double)h).ToArray();
        var colors = new[] { ScottPlot.Colors.RoyalBlue, ScottPlot.Colors.Orange, ScottPlot.Colors.Gray, ScottPlot.Colors.Green };
        for (int m = 0; m < methods.Length; m++)
        {
            var line = byHorizon.Add.Scatter(horizons, rmse[m]);
            line.LegendText = methods[m].Name;
            line.Color = colors[m];
            line.MarkerSize = 3;
            line.LineWidth = m == 0 ? 2.5f : 1.5f;
        }

        byHorizon.Title("Test RMSE by forecast horizon (same 260 target weeks, 1997-2001)");
        byHorizon.XLabel("weeks ahead");
        byHorizon.YLabel("RMSE (ppm)");
        byHorizon.Axes.SetLimitsY(0, rmse.Max(r => r.Max()) * 1.05);
        byHorizon.ShowLegend(ScottPlot.Alignment.UpperLeft);
        Charts.Save(byHorizon, options.Output("co2-rmse-by-horizon.png"));
    }
}
