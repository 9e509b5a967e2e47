using System.Diagnostics;
using Embedded.Rnn;
using Embedded.Rnn.Samples;
using Embedded.Rnn.Training;
using ScottPlot;

// Handwritten digits read as a sequence: each 8×8 image is 8 time steps (rows, top to bottom) of 8 pixels.
// A GRU reads the rows, a softmax head names the digit after the last row. With --precision bf16 or int8 it also
// runs the trained weights stored that way and compares their test accuracy.
return SampleOptions.Run(args, "Classifies handwritten digits read row by row with a GRU (sequence-to-one, softmax head).", PrecisionOption.Create(), (options, precisionName) =>
{
    var precision = PrecisionOption.StorageOf(precisionName);
    const int Steps = 8, Pixels = 8, Classes = 10;
    var clock = Stopwatch.StartNew();
    var table = CsvTable.Read(DataFiles.Path("digits.csv.gz"), new CsvReadOptions { HasHeader = false });
    if (table.Columns.Count != Steps * Pixels + 1)
    {
        Console.Error.WriteLine($"digits.csv.gz: expected {Steps * Pixels + 1} columns (64 pixels, then the label); found {table.Columns.Count}.");
        return 2;
    }

    var labelColumn = table.Numbers(Steps * Pixels);
    var labels = labelColumn.Select((v, row) => v is >= 0 and <= 9 && v == MathF.Floor(v)
        ? (int)v
        : throw new InvalidDataException($"digits.csv.gz line {table.LineOf(row)}: label {v} is not a digit 0..9.")).ToArray();
    var pixelColumns = Enumerable.Range(0, Steps * Pixels).Select(table.Numbers).ToArray();
    // Pixels are 0..16; scale to 0..1.
    var images = Enumerable.Range(0, table.RowCount)
        .Select(row => pixelColumns.Select(column => column[row] / 16f).ToArray()).ToArray();

    // Stratified: every digit keeps its share in train, validation (early stopping) and test (reported).
    var (trainRows, validationRows, testRows) = StratifiedSplit.Split(labels, validationFraction: 0.1, testFraction: 0.2, seed: 1);
    Console.WriteLine($"{table.RowCount} digits: {trainRows.Length} train (×5 with one-pixel shifts), {validationRows.Length} validation, {testRows.Length} test (stratified, seed 1)");

    TrainingExample Example(int row) => TrainingExample.Classification(images[row], labels[row], Classes);
    // Augmentation (training set only): each image also shifted by one pixel up, down, left and right, so the
    // model sees strokes in slightly different places, as the scanned digits have them.
    var train = trainRows.SelectMany(row => new[] { (0, 0), (-1, 0), (1, 0), (0, -1), (0, 1) }
        .Select(shift => TrainingExample.Classification(Shift(images[row], shift.Item1, shift.Item2), labels[row], Classes))).ToArray();
    var validation = validationRows.Select(Example).ToArray();

    // Baselines on the same test set: the most frequent training class, and the nearest class mean of the 64 pixels.
    int majority = trainRows.GroupBy(r => labels[r]).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
    double majorityAccuracy = testRows.Count(r => labels[r] == majority) / (double)testRows.Length;
    var centroids = NearestCentroidClassifier.Fit(trainRows.Select(r => images[r]).ToArray(), trainRows.Select(r => labels[r]).ToArray(), Classes);
    double centroidAccuracy = testRows.Count(r => centroids.Predict(images[r]) == labels[r]) / (double)testRows.Length;

    int epochs = options.Fast ? 4 : 30;
    Console.WriteLine($"Training {nameof(DigitGru)} ({DigitGru.CellKind}, hidden {DigitGru.HiddenSize}) for up to {epochs} epochs, AdamW, early stopping on validation loss:");
    var model = DigitGru.FromParameters(RnnTrainer.InitialParameters(DigitGru.Shape, DigitGru.Parameters, seed: 1));
    var trainingOptions = new TrainingOptions
    {
        Epochs = epochs,
        BatchSize = 32,
        LearningRate = 3e-3f,
        Optimizer = OptimizerKind.AdamW,
        WeightDecay = 0.05f,
        Loss = LossKind.CrossEntropy,
        Target = TargetKind.SequenceToOne,
        ClipGradientNorm = 5f,
        Schedule = LearningRateSchedule.Cosine,
        EarlyStoppingPatience = 8,
        Seed = 1,
        Workers = options.Workers ?? Environment.ProcessorCount,
        Progress = new ConsoleProgress(),
        LogPath = options.Output("digits_training.csv"),
    };

    // Both runs start from the weights the seed draws, so a QAT run differs from the float32 one only by the rounding.
    void Train(DigitGru trainee, TrainingOptions runOptions, string weightsFile)
    {
        using var trainer = new RnnTrainer(trainee, runOptions);
        File.Delete(runOptions.LogPath!); // the log appends: start it afresh
        var result = trainer.Fit(train, validation);
        Console.WriteLine($"best validation loss {result.BestValidationLoss:F4} after {result.Epochs.Count} epochs{(result.StoppedEarly ? " (stopped early)" : "")}");
        trainer.ExportSafetensors(options.Output(weightsFile));
    }

    const string TrainedWeights = "digits_gru.safetensors";
    const string AwareWeights = "digits_gru_qat_int8.safetensors";
    Train(model, trainingOptions, TrainedWeights);
    if (precision == WeightStorage.Int8)
    {
        StorageBars.AnnounceQat();
        Train(DigitGru.FromParameters(RnnTrainer.InitialParameters(DigitGru.Shape, DigitGru.Parameters, seed: 1)),
            trainingOptions with { FakeQuantization = WeightStorage.Int8, LogPath = options.Output("digits_training_qat_int8.csv") }, AwareWeights);
    }

    // Test predictions through the generated inference kernels (Run over the 8 rows), not the training tape; one code
    // path for the float32 model and its bf16 and int8 twins. Besides each digit's predicted class, the mean
    // cross-entropy of the true digits (nats), which shows changes too small to flip a prediction.
    TestPredictions Predict<TState>(IRnnModel<TState> classifier)
        where TState : struct, IRnnState
    {
        var outputs = new float[Steps * Classes];
        var predicted = new int[testRows.Length];
        double nats = 0;
        for (int k = 0; k < testRows.Length; k++)
        {
            var state = default(TState);
            classifier.Run(images[testRows[k]], ref state, outputs);
            var probabilities = outputs.AsSpan((Steps - 1) * Classes, Classes);
            predicted[k] = ConfusionMatrix.ArgMax(probabilities);
            nats -= Math.Log(probabilities[labels[testRows[k]]]);
        }

        return new TestPredictions(predicted, nats / testRows.Length);
    }

    ConfusionMatrix ConfusionOf(int[] predicted)
    {
        var confusion = new ConfusionMatrix(Classes);
        for (int k = 0; k < testRows.Length; k++)
        {
            confusion.Add(labels[testRows[k]], predicted[k]);
        }

        return confusion;
    }

    var predictions = Predict(model);
    var confusion = ConfusionOf(predictions.Classes);

    Console.WriteLine();
    Console.WriteLine($"Confusion matrix on the {testRows.Length} test digits (rows: true digit, columns: predicted):");
    Console.Write(confusion.ToText());
    Console.WriteLine();
    Console.WriteLine($"test accuracy: GRU {confusion.Accuracy:P2} ({confusion.Correct}/{confusion.Total}) on kernel path {model.Path}");
    Console.WriteLine($"baselines:     nearest class mean {centroidAccuracy:P2}, most frequent class {majorityAccuracy:P2}");

    var failures = new List<string>();
    if (precision != WeightStorage.Float32)
    {
        // The twins load the exported safetensors files, as a device would.
        var storages = new List<(string Name, TestPredictions Predictions)> { ("float32", predictions) };
        if (precision == WeightStorage.BFloat16)
        {
            storages.Add(("bf16", Predict(DigitGruBf16.FromSafetensors(options.Output(TrainedWeights)))));
        }
        else
        {
            storages.Add(("int8 after training", Predict(DigitGruInt8.FromSafetensors(options.Output(TrainedWeights)))));
            storages.Add(("int8 with QAT", Predict(DigitGruInt8.FromSafetensors(options.Output(AwareWeights)))));
        }

        failures.AddRange(ReportStorages(precision, storages.Select(s => (s.Name, ConfusionOf(s.Predictions.Classes), s.Predictions)).ToList()));
    }

    SaveHeatmap(confusion, options.Output("digits_confusion.png"));
    Console.WriteLine($"done in {clock.Elapsed.TotalSeconds:F1} s");

    // The headline claim: full training reaches 97 %; the short CI run must still be far above the baselines (and, with
    // --precision, the narrower weights within their bars of float32).
    double floor = options.Fast ? 0.90 : 0.97;
    if (confusion.Accuracy < floor || confusion.Accuracy <= centroidAccuracy)
    {
        failures.Insert(0, $"test accuracy {confusion.Accuracy:P2} is below the {(options.Fast ? "--fast" : "full-run")} floor of {floor:P0} or not above the nearest-mean baseline ({centroidAccuracy:P2})");
    }

    foreach (var failure in failures)
    {
        Console.Error.WriteLine($"FAILED: {failure}.");
    }

    return failures.Count == 0 ? 0 : 1;
});

// The GRU's test accuracy per weight storage (the first is float32) and the issue's bars: bf16 within 1 % (relative) of
// float32, int8 rounded after training within 1 accuracy point, QAT recovering at least half of that gap (reported only).
// Returns the storage bars missed.
static List<string> ReportStorages(WeightStorage precision, List<(string Name, ConfusionMatrix Confusion, TestPredictions Predictions)> storages)
{
    var float32 = storages[0];
    Console.WriteLine();
    Console.WriteLine("GRU test accuracy by weight storage (the same trained parameters and prediction code; the narrower ones load the exported file):");
    foreach (var (name, confusion, predictions) in storages)
    {
        int changed = predictions.Classes.Where((c, k) => c != float32.Predictions.Classes[k]).Count();
        Console.WriteLine($"  {name,-20} {confusion.Accuracy,8:P2} ({confusion.Correct}/{confusion.Total}), cross-entropy {predictions.CrossEntropy:F4} nats"
            + (name == float32.Name ? "" : $"; {changed} test digit(s) classified differently from float32"));
    }

    var accuracy = new StorageMetric("test accuracy", HigherIsBetter: true, v => $"{v:F2} %", d => $"{d:+0.00;-0.00;0.00} points");
    double Percent(int index) => 100 * storages[index].Confusion.Accuracy;
    string? missed;
    if (precision == WeightStorage.BFloat16)
    {
        missed = StorageBars.CheckBFloat16(accuracy, Percent(0), Percent(1), StorageBar.Percent(1));
    }
    else
    {
        missed = StorageBars.CheckInt8(accuracy, Percent(0), Percent(1), Percent(2), StorageBar.Absolute(1, "1 accuracy point"));
        StorageBars.ExplainQat();
    }

    return missed is null ? [] : [missed];
}

// The 8×8 image moved by (rows, columns) pixels; pixels moved in from outside are blank.
static float[] Shift(float[] image, int rows, int columns)
{
    var shifted = new float[image.Length];
    for (int r = 0; r < 8; r++)
    {
        for (int c = 0; c < 8; c++)
        {
            int fromRow = r - rows, fromColumn = c - columns;
            if (fromRow is >= 0 and < 8 && fromColumn is >= 0 and < 8)
            {
                shifted[r * 8 + c] = image[fromRow * 8 + fromColumn];
            }
        }
    }

    return shifted;
}

static void SaveHeatmap(ConfusionMatrix confusion, string path)
{
    int n = confusion.Classes;
    // Row 0 of the array is drawn at the top, so true digit 0 is the top row, as in the printed table.
    var counts = new double[n, n];
    for (int a = 0; a < n; a++)
    {
        for (int p = 0; p < n; p++)
        {
            counts[a, p] = confusion[a, p];
        }
    }

    var plot = new Plot();
    var heatmap = plot.Add.Heatmap(counts);
    heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
    heatmap.Rectangle = new CoordinateRect(-0.5, n - 0.5, -0.5, n - 0.5);
    plot.Add.ColorBar(heatmap).Label = "test digits";
    double top = counts.Cast<double>().Max();
    for (int a = 0; a < n; a++)
    {
        for (int p = 0; p < n; p++)
        {
            if (counts[a, p] == 0)
            {
                continue;
            }

            var label = plot.Add.Text(counts[a, p].ToString("0", System.Globalization.CultureInfo.InvariantCulture), p, n - 1 - a);
            label.LabelAlignment = Alignment.MiddleCenter;
            label.LabelFontSize = 16;
            label.LabelFontColor = counts[a, p] > top / 2 ? Colors.Black : Colors.White;
        }
    }

    var ticks = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
    plot.Axes.Bottom.SetTicks(ticks, ticks.Select(t => t.ToString("0", System.Globalization.CultureInfo.InvariantCulture)).ToArray());
    plot.Axes.Left.SetTicks(ticks, ticks.Select(t => (n - 1 - t).ToString("0", System.Globalization.CultureInfo.InvariantCulture)).ToArray());
    plot.Title($"Digits read row by row by a GRU: test confusion matrix (accuracy {confusion.Accuracy:P1})");
    plot.XLabel("predicted digit");
    plot.YLabel("true digit");
    plot.Axes.SetLimits(-0.5, n - 0.5, -0.5, n - 0.5);
    Charts.Save(plot, path, 800, 700);
}

/// <summary>The test digits' predicted classes, in test order, and the mean cross-entropy of their true classes (nats).</summary>
internal sealed record TestPredictions(int[] Classes, double CrossEntropy);

/// <summary>GRU over 8 rows of 8 pixels, softmax over the 10 digits.</summary>
[RnnModel("models/digit_gru.rnn.json")]
public partial class DigitGru { }

/// <summary>The classifier with bfloat16 weights; it loads the float32 classifier's trained parameters.</summary>
[RnnModel("models/digit_gru_bf16.rnn.json")]
public partial class DigitGruBf16 { }

/// <summary>The classifier with int8 weights; it loads the float32 classifier's trained (or QAT master) parameters.</summary>
[RnnModel("models/digit_gru_int8.rnn.json")]
public partial class DigitGruInt8 { }
