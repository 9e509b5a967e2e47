using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Embedded.Rnn.Safetensors;
using Embedded.Rnn.Training;

namespace Embedded.Rnn.Tool;

/// <summary>
/// <c>embedded-rnn train data.csv --spec net.rnn.json --targets y --window 20 --out net.safetensors</c>: compiles
/// the spec with the generator (the kernels a build of the spec gets), turns the CSV into sequences (see
/// <see cref="CsvSequences"/>) and trains with <see cref="RnnTrainer"/>; writes PyTorch-named safetensors.
/// </summary>
public static class TrainCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var data = ToolCommands.ExistingFile("data", "Training data: CSV with a header row, one time step per row (.csv or .csv.gz).");
        var spec = ToolCommands.ExistingFileOption("--spec", "The model's spec (*.rnn.json).", required: true);
        var output = new Option<FileInfo>("--out") { Description = "Where to write the trained weights (safetensors, PyTorch state_dict names).", Required = true };
        var inputs = new Option<string[]>("--inputs") { Description = "Input (feature) columns, in the model's input order; comma-separated or repeated. Default: every column that is not a target.", AllowMultipleArgumentsPerToken = true, CustomParser = SplitList };
        var targets = new Option<string[]>("--targets") { Description = "Target columns (one per model output), or one class-index column with --loss cross-entropy. A column may also be an input.", Required = true, AllowMultipleArgumentsPerToken = true, CustomParser = SplitList };
        var window = new Option<int>("--window") { Description = "Rows per training sequence (time steps).", Required = true }.AtLeast(1);
        var stride = new Option<int>("--stride") { Description = "Rows between the starts of consecutive sequences.", DefaultValueFactory = _ => 1 }.AtLeast(1);
        var horizon = new Option<int>("--horizon") { Description = "How many rows after a step its target is read (1 = predict the next row).", DefaultValueFactory = _ => 0 }.AtLeast(0);
        var sequenceToSequence = new Option<bool>("--sequence-to-sequence") { Description = "A target for every step (default: only the last step of each window)." };
        var loss = ToolCommands.Choice("--loss", "mse, or cross-entropy (needs a softmax head).", "mse", "mse", "cross-entropy");
        var optimizer = ToolCommands.Choice("--optimizer", "The update rule (PyTorch's formulas).", "adam", "sgd", "adam", "adamw");
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training set.", DefaultValueFactory = _ => 10 }.AtLeast(1);
        var batchSize = new Option<int>("--batch-size") { Description = "Sequences per mini-batch.", DefaultValueFactory = _ => 32 }.AtLeast(1);
        var learningRate = new Option<float>("--learning-rate") { Description = "Step size.", DefaultValueFactory = _ => 1e-3f }
            .Check(v => float.IsFinite(v) && v > 0 ? null : $"--learning-rate must be a positive number (got {v.ToString(CultureInfo.InvariantCulture)}).");
        var clip = new Option<float?>("--clip") { Description = "Clip gradients to this global norm." };
        var validation = new Option<float>("--validation") { Description = "Fraction of sequences held out for validation (0 to 0.9).", DefaultValueFactory = _ => 0.1f }
            .Check(v => v is >= 0f and <= 0.9f ? null : $"--validation must be between 0 and 0.9 (got {v.ToString(CultureInfo.InvariantCulture)}).");
        var patience = new Option<int?>("--patience") { Description = "Stop after this many epochs without validation improvement (keeps the best weights)." };
        var seed = new Option<ulong>("--seed") { Description = "Seed for initial weights, shuffling and dropout (same seed, same weights on any machine).", DefaultValueFactory = _ => 1UL };
        var initial = ToolCommands.ExistingFileOption("--weights", "Start from these weights (safetensors) instead of PyTorch-style random initialisation.", kind: "a safetensors file");
        var log = new Option<FileInfo?>("--log") { Description = "Write a CSV log of every epoch." };
        var progress = new Option<bool>("--progress") { Description = "Show a live progress line." };
        var force = new Option<bool>("--force") { Description = "Overwrite an existing output file." };
        var command = new Command("train", "Trains a model from a CSV file: each row is a time step, windows of --window rows are the sequences, --targets the values to predict (--horizon rows ahead). Uses the kernels the generator makes from --spec, so the trained weights run identically in your build.")
        {
            data, spec, output, inputs, targets, window, stride, horizon, sequenceToSequence, loss, optimizer, epochs, batchSize, learningRate, clip,
            validation, patience, seed, initial, log, progress, force,
        };
        command.SetGuardedAction((result, console) =>
        {
            string destination = result.GetValue(output)!.FullName;
            ToolCommands.CheckWritable(destination, result.GetValue(force));
            var table = CsvTable.Read(result.GetValue(data)!.FullName); // first: a bad line fails before the spec is compiled
            using var compiled = ModelCompiler.CompileFile(result.GetValue(spec)!.FullName);
            foreach (string warning in compiled.Warnings)
            {
                console.WriteLine(warning);
            }

            var shape = compiled.Shape;
            bool crossEntropy = result.GetValue(loss) == "cross-entropy";
            var examples = CsvSequences.Build(table, result.GetValue(inputs), result.GetValue(targets)!, shape, result.GetValue(window), result.GetValue(stride),
                result.GetValue(horizon), result.GetValue(sequenceToSequence), classIndex: crossEntropy && result.GetValue(targets)!.Length == 1 && shape.OutputSize > 1);

            ulong seedValue = result.GetValue(seed);
            IReadOnlyList<float[]> start;
            if (result.GetValue(initial) is { } weightsFile)
            {
                var weights = ToolCommands.ReadSafetensors(weightsFile);
                try
                {
                    start = StateDictLoader.Load(weights, compiled.Parameters); // strict, and finite: training from a NaN goes nowhere
                }
                catch (SafetensorsException e)
                {
                    throw new ToolException($"{weightsFile.Name}: {e.Message}");
                }
            }
            else
            {
                start = RnnTrainer.InitialParameters(shape, compiled.Parameters, seedValue);
            }

            var model = compiled.FromParameters(start);
            var options = new TrainingOptions
            {
                Epochs = result.GetValue(epochs),
                BatchSize = result.GetValue(batchSize),
                LearningRate = result.GetValue(learningRate),
                Optimizer = result.GetValue(optimizer) switch
                {
                    "sgd" => OptimizerKind.Sgd,
                    "adam" => OptimizerKind.Adam,
                    "adamw" => OptimizerKind.AdamW,
                    var other => throw new UnreachableException($"--optimizer accepts only sgd, adam or adamw, not '{other}'."),
                },
                Loss = crossEntropy ? LossKind.CrossEntropy : LossKind.MeanSquaredError,
                Target = result.GetValue(sequenceToSequence) ? TargetKind.SequenceToSequence : TargetKind.SequenceToOne,
                ClipGradientNorm = result.GetValue(clip),
                ValidationFraction = result.GetValue(validation),
                EarlyStoppingPatience = result.GetValue(patience),
                Seed = seedValue,
                LogPath = result.GetValue(log)?.FullName,
                Progress = result.GetValue(progress) ? new ConsoleProgress() : null,
            };
            console.WriteLine($"model: {shape.Cell}, input {shape.InputSize}, hidden {shape.HiddenSize}, {shape.LayerCount} layer(s), output {shape.OutputSize}; kernel path {model.Path}");
            console.WriteLine($"data: {table.RowCount} rows -> {examples.Count} sequences of {result.GetValue(window)} steps");
            using var trainer = new RnnTrainer(model, options, start);
            var outcome = trainer.Fit(examples);
            foreach (var epoch in outcome.Epochs)
            {
                console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {epoch.Epoch + 1}/{epoch.Epochs}: training loss {epoch.TrainingLoss:G6}, validation loss {epoch.ValidationLoss:G6}"));
            }

            trainer.ExportSafetensors(destination);
            console.WriteLine($"wrote {destination}");
            return 0;
        });
        return command;
    }

    // "--targets a,b" and "--targets a --targets b" both work.
    private static string[] SplitList(System.CommandLine.Parsing.ArgumentResult result) =>
        result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
}
