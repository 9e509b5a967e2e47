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
        var clip = new Option<float?>("--clip") { Description = "Clip gradients to this global norm." }
            .Check(v => v is not { } norm || (float.IsFinite(norm) && norm > 0) ? null : $"--clip must be a positive number (got {norm.ToString(CultureInfo.InvariantCulture)}).");
        var validation = new Option<float>("--validation") { Description = "Fraction of sequences held out for validation (0 to 0.9).", DefaultValueFactory = _ => 0.1f }
            .Check(v => v is >= 0f and <= 0.9f ? null : $"--validation must be between 0 and 0.9 (got {v.ToString(CultureInfo.InvariantCulture)}).");
        var patience = new Option<int?>("--patience") { Description = "Stop after this many epochs without validation improvement (keeps the best weights)." }
            .Check(v => v is null or >= 1 ? null : $"--patience must be at least 1 (got {v}).");
        var seed = new Option<ulong>("--seed") { Description = "Seed for initial weights, shuffling and dropout (same seed, same weights on any machine).", DefaultValueFactory = _ => 1UL };
        var initial = ToolCommands.ExistingFileOption("--weights", "Start from these weights (safetensors) instead of PyTorch-style random initialisation.", kind: "a safetensors file");
        var log = new Option<FileInfo?>("--log") { Description = "Write a CSV log of every epoch." };
        var checkpoint = new Option<FileInfo?>("--checkpoint") { Description = "Save training progress to this file (atomically) every --checkpoint-every steps, at the end, and on Ctrl-C, so --resume can continue an interrupted or crashed run." };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Optimizer steps (mini-batches) between checkpoints.", DefaultValueFactory = _ => 100 }.AtLeast(1);
        var resume = new Option<bool>("--resume") { Description = "Continue from --checkpoint (run the interrupted command again with --resume): ends with the weights an uninterrupted run writes. Starts afresh when the checkpoint does not exist yet." };
        var progress = new Option<bool>("--progress") { Description = "Show a live progress bar instead of a plain line per epoch." };
        var force = new Option<bool>("--force") { Description = "Overwrite an existing output file (and start over from an existing --checkpoint)." };
        var command = new Command("train", "Trains a model from a CSV file: each row is a time step, windows of --window rows are the sequences, --targets the values to predict (--horizon rows ahead). Uses the kernels the generator makes from --spec, so the trained weights run identically in your build.")
        {
            data, spec, output, inputs, targets, window, stride, horizon, sequenceToSequence, loss, optimizer, epochs, batchSize, learningRate, clip,
            validation, patience, seed, initial, log, checkpoint, checkpointEvery, resume, progress, force,
        };
        command.Validators.Add(result =>
        {
            if (result.GetValue(resume) && result.GetValue(checkpoint) is null)
            {
                result.AddError("--resume needs --checkpoint: the file to continue from.");
            }
        });
        command.SetGuardedAction((result, console, cancellation) =>
        {
            // Every file is checked before the data is read and the model compiled, so a bad path cannot waste a run.
            string destination = result.GetValue(output)!.FullName;
            string? checkpointPath = result.GetValue(checkpoint)?.FullName;
            string? logPath = result.GetValue(log)?.FullName;
            ToolCommands.CheckOutputsDistinct(
                [("--out", destination), .. checkpointPath is null ? [] : new[] { ("--checkpoint", checkpointPath) }, .. logPath is null ? [] : new[] { ("--log", logPath) }],
                [("the data", result.GetValue(data)!.FullName), ("the spec", result.GetValue(spec)!.FullName),
                    .. result.GetValue(initial) is { } startingWeights ? new[] { ("the starting weights", startingWeights.FullName) } : []]);
            ToolCommands.CheckWritable(destination, result.GetValue(force));
            bool resuming = result.GetValue(resume);
            if (checkpointPath is not null)
            {
                ToolCommands.CheckWritable(checkpointPath, overwrite: resuming || result.GetValue(force), "--checkpoint",
                    "pass --resume to continue from it, or --force to start over");
            }

            if (logPath is not null)
            {
                ToolCommands.CheckWritable(logPath, overwrite: true, "--log");
            }

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

            float validationFraction = result.GetValue(validation);
            int? patienceValue = result.GetValue(patience);
            var options = new TrainingOptions { ValidationFraction = validationFraction };
            if (options.ValidationHoldOut(examples.Count) == 0 && (validationFraction > 0 || patienceValue is not null))
            {
                string why = validationFraction == 0
                    ? "--validation 0 holds out no sequence"
                    : string.Create(CultureInfo.InvariantCulture,
                        $"--validation {validationFraction} of {examples.Count} sequences holds out none (it needs at least {Math.Ceiling(1 / validationFraction)} sequences)");
                if (patienceValue is not null)
                {
                    throw new ToolException($"--patience needs validation loss, but {why}; use more data or a larger --validation, or drop --patience.");
                }

                console.WriteLine($"warning: {why}; no validation loss is computed.");
            }

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
            options = options with
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
                EarlyStoppingPatience = patienceValue,
                Seed = seedValue,
                CheckpointPath = checkpointPath,
                CheckpointEvery = result.GetValue(checkpointEvery),
                LogPath = logPath,
                Progress = result.GetValue(progress) ? new ConsoleProgress() : new EpochLines(console),
            };
            console.WriteLine($"model: {shape.Cell}, input {shape.InputSize}, hidden {shape.HiddenSize}, {shape.LayerCount} layer(s), output {shape.OutputSize}; kernel path {model.Path}");
            console.WriteLine($"data: {table.RowCount} rows -> {examples.Count} sequences of {result.GetValue(window)} steps");
            if (resuming)
            {
                console.WriteLine(File.Exists(checkpointPath) ? $"resuming from {checkpointPath}" : $"no checkpoint at {checkpointPath} yet: starting from the beginning");
            }

            // The trainer writes the checkpoint and the log as it goes: their folders are made now, after every check.
            if (checkpointPath is not null)
            {
                ToolCommands.CreateFolderFor(checkpointPath, "--checkpoint");
            }

            if (options.LogPath is not null)
            {
                ToolCommands.CreateFolderFor(options.LogPath, "--log");
            }

            using var trainer = new RnnTrainer(model, options, start);
            try
            {
                trainer.Fit(examples, resume: resuming, cancellationToken: cancellation);
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                result.InvocationConfiguration.Error.WriteLine(checkpointPath is null
                    ? $"embedded-rnn train: interrupted after {trainer.Steps} steps; nothing was written (--checkpoint keeps the progress of a run)."
                    : $"embedded-rnn train: interrupted after {trainer.Steps} steps; progress saved in {checkpointPath}: run the same command with --resume to continue.");
                return ToolCommands.Interrupted;
            }
            catch (TrainingDivergedException e)
            {
                result.InvocationConfiguration.Error.WriteLine(DivergenceMessage(e, options, checkpointPath));
                return ToolCommands.BadInput;
            }

            ToolCommands.CreateFolderFor(destination);
            trainer.ExportSafetensors(destination);
            console.WriteLine($"wrote {destination}");
            return 0;
        });
        return command;
    }

    // The library's TrainingDivergedException speaks of TrainingOptions; this says the same with the tool's options.
    private static string DivergenceMessage(TrainingDivergedException e, TrainingOptions options, string? checkpointPath)
    {
        string kept = checkpointPath is null
            ? "Nothing was written."
            : $"Nothing was written; {checkpointPath} still holds the last checkpoint before it (its steps were finite).";
        string advice = options.ClipGradientNorm is null
            ? string.Create(CultureInfo.InvariantCulture, $"Try a lower --learning-rate (now {options.LearningRate}) or --clip 1.")
            : string.Create(CultureInfo.InvariantCulture, $"Try a lower --learning-rate (now {options.LearningRate}) or a smaller --clip (now {options.ClipGradientNorm}).");
        return string.Create(CultureInfo.InvariantCulture,
            $"embedded-rnn train: error: training diverged in epoch {e.Epoch + 1}/{options.Epochs}, batch {e.Batch + 1}: {e.Quantity} is not finite. {kept} {advice}");
    }

    // One plain line per epoch as it ends (--progress draws a live bar instead).
    private sealed class EpochLines(TextWriter console) : IProgress<EpochReport>
    {
        public void Report(EpochReport value)
        {
            string validation = double.IsNaN(value.ValidationLoss) ? string.Empty : string.Create(CultureInfo.InvariantCulture, $", validation loss {value.ValidationLoss:G6}");
            console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {value.Epoch + 1}/{value.Epochs}: training loss {value.TrainingLoss:G6}{validation}"));
            console.Flush();
        }
    }

    // "--targets a,b" and "--targets a --targets b" both work.
    private static string[] SplitList(System.CommandLine.Parsing.ArgumentResult result) =>
        result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
}
