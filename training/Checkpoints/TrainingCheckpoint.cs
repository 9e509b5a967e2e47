using System.Globalization;
using Embedded.Rnn.Safetensors;

namespace Embedded.Rnn.Training;

/// <summary>
/// The checkpoint file (<see cref="TrainingOptions.CheckpointPath"/>): everything a resumed Fit needs to reach exactly
/// the weights of an uninterrupted run, as safetensors.
/// <list type="bullet">
/// <item>Metadata: <c>format</c>; <c>shape</c>, <c>model</c> (the shape, the head and every parameter's name and
/// shape, so a model that differs only in its bias or head is told apart) and <c>seed</c>, so another model or seed
/// is refused; the run's position (<c>epoch</c>, <c>batch</c>, <c>best_validation</c>, <c>patience</c>) and the
/// trainer's <c>step</c> (dropout streams are numbered by it), with the <c>batch_size</c> and the number of training
/// <c>examples</c> that position counts in; and what the optimizer adds. Checkpoints written before <c>model</c>,
/// <c>batch_size</c> and <c>examples</c> existed are read without those checks.</item>
/// <item>Tensors: the parameters under their state_dict names; the optimizer's entries
/// (<see cref="IOptimizer.WriteState"/>); <c>best.</c> + name for the best weights early stopping keeps.</item>
/// </list>
/// Entries are found by name, so their order in the file does not matter. SafetensorsWriter.Save writes a
/// temporary file, flushes it to disk, renames it over the old one and flushes the directory: a crash or a power cut at
/// any moment leaves either the previous checkpoint or the new one, whole (CrashResumeTests kills a trainer to check
/// this; .ci/durability-check.sh checks the order of the system calls).
/// </summary>
internal sealed class TrainingCheckpoint(string path, ITrainableRnnModel model, ulong seed, int batchSize)
{
    private const string Format = "embedded-rnn-checkpoint";
    private const string BestPrefix = "best.";

    /// <summary>The file.</summary>
    public string Path { get; } = path;

    /// <summary>True when a checkpoint has been written.</summary>
    public bool Exists => File.Exists(Path);

    /// <summary>Writes the checkpoint, replacing the previous one atomically.</summary>
    /// <param name="position">Where the run is: the next batch to train.</param>
    /// <param name="examples">Training examples the run shuffles into batches (the position's batch counts in them).</param>
    /// <param name="step">The trainer's step count.</param>
    /// <param name="parameters">The parameters, in ParameterSpecs order.</param>
    /// <param name="optimizer">The optimizer, which writes its own state.</param>
    /// <param name="best">The best validation weights early stopping keeps, or null.</param>
    public void Save(FitPosition position, int examples, long step, IReadOnlyList<float[]> parameters, IOptimizer optimizer, IReadOnlyList<float[]>? best)
    {
        var writer = new SafetensorsWriter()
            .AddMetadata("format", Format)
            .AddMetadata("epoch", position.Epoch.ToString(CultureInfo.InvariantCulture))
            .AddMetadata("batch", position.Batch.ToString(CultureInfo.InvariantCulture))
            .AddMetadata("step", step.ToString(CultureInfo.InvariantCulture))
            .AddMetadata("best_validation", position.BestValidation.ToString("R", CultureInfo.InvariantCulture))
            .AddMetadata("patience", position.Patience.ToString(CultureInfo.InvariantCulture))
            .AddMetadata("epoch_loss", position.EpochLoss.ToString("R", CultureInfo.InvariantCulture))
            .AddMetadata("seed", seed.ToString(CultureInfo.InvariantCulture))
            .AddMetadata("shape", model.Shape.ToString())
            .AddMetadata("model", Description(model))
            .AddMetadata("batch_size", batchSize.ToString(CultureInfo.InvariantCulture))
            .AddMetadata("examples", examples.ToString(CultureInfo.InvariantCulture));
        var specs = model.ParameterSpecs;
        for (int k = 0; k < specs.Count; k++)
        {
            writer.Add(specs[k].Name, parameters[k], specs[k].TensorShape());
        }

        optimizer.WriteState(writer, specs);
        for (int k = 0; best is not null && k < specs.Count; k++)
        {
            writer.Add(BestPrefix + specs[k].Name, best[k], specs[k].TensorShape());
        }

        writer.Save(Path);
    }

    /// <summary>
    /// Reads the checkpoint: copies the parameters into <paramref name="parameters"/>, restores the optimizer's state,
    /// and returns the run's position, the trainer's step and the best weights (null when none were kept).
    /// </summary>
    /// <param name="parameters">Receives the parameters, in ParameterSpecs order.</param>
    /// <param name="optimizer">Receives its state.</param>
    /// <param name="examples">Training examples of the run being resumed.</param>
    /// <exception cref="ArgumentException">The checkpoint was written for another model (shape, bias or head) or seed, or
    /// holds another optimizer's state, or stopped within an epoch whose batches were of another BatchSize or training set
    /// (resuming would skip or repeat examples).</exception>
    /// <exception cref="SafetensorsException">The file is not a complete checkpoint, its position is not made of counts, a
    /// tensor's shape is not its parameter's, or it holds non-finite weights.</exception>
    /// <remarks>A refused checkpoint changes neither <paramref name="parameters"/> nor <paramref name="optimizer"/>.</remarks>
    public (FitPosition Position, long Step, float[][]? Best) Load(float[][] parameters, IOptimizer optimizer, int examples)
    {
        SafetensorsFile file;
        try
        {
            file = SafetensorsFile.Read(Path);
        }
        catch (SafetensorsException e)
        {
            // The parser does not know which file it read; the later checks below name it, so this one does too.
            throw new SafetensorsException($"checkpoint '{Path}': {e.Message}", e);
        }

        string Meta(string key) => file.Metadata.TryGetValue(key, out var v) ? v : throw new SafetensorsException($"checkpoint '{Path}' lacks '{key}'.");
        if (Meta("format") != Format)
        {
            throw new SafetensorsException($"'{Path}' is not a training checkpoint (format '{Meta("format")}').");
        }

        if (Meta("shape") != model.Shape.ToString() || Meta("seed") != seed.ToString(CultureInfo.InvariantCulture))
        {
            throw new ArgumentException($"checkpoint '{Path}' was written for {Meta("shape")} with seed {Meta("seed")}, not this model and seed.");
        }

        if (file.Metadata.TryGetValue("model", out var written) && written != Description(model))
        {
            throw new ArgumentException($"checkpoint '{Path}' was written for another model with the same sizes ({written}), not this one ({Description(model)}).");
        }

        string checkpoint = $"checkpoint '{Path}'"; // how the messages of ReadCount and ReadTensor name the file
        long Count(string key, long max = int.MaxValue) => ReadCount(file, key, checkpoint, max);
        var position = new FitPosition(
            (int)Count("epoch"),
            (int)Count("batch"),
            double.TryParse(Meta("best_validation"), NumberStyles.Float, CultureInfo.InvariantCulture, out double best)
                ? best
                : throw new SafetensorsException($"checkpoint '{Path}' has 'best_validation' = '{Meta("best_validation")}', which is not a number."),
            (int)Count("patience"),
            !file.Metadata.TryGetValue("epoch_loss", out var epochLoss) ? double.NaN // written before the sum was kept
                : double.TryParse(epochLoss, NumberStyles.Float, CultureInfo.InvariantCulture, out double sum) ? sum
                : throw new SafetensorsException($"checkpoint '{Path}' has 'epoch_loss' = '{epochLoss}', which is not a number."));
        string batches = batchSize.ToString(CultureInfo.InvariantCulture), count = examples.ToString(CultureInfo.InvariantCulture);
        if (position.Batch > 0 && file.Metadata.TryGetValue("batch_size", out var writtenBatches) && file.Metadata.TryGetValue("examples", out var writtenCount)
            && (writtenBatches != batches || writtenCount != count))
        {
            throw new ArgumentException($"checkpoint '{Path}' stopped after batch {position.Batch} of epoch {position.Epoch + 1}, in batches of {writtenBatches} " +
                $"from {writtenCount} training examples; this run has batches of {batches} from {count}, so resuming would skip or repeat examples. " +
                "Resume with the same BatchSize and training set, or start afresh.");
        }

        // Everything is read and checked before anything changes: a refused checkpoint leaves the trainer as it was.
        var specs = model.ParameterSpecs;
        var loaded = specs.Select(spec => Finite(ReadTensor(file, spec.Name, spec, checkpoint), spec.Name)).ToArray();
        var bestWeights = file.Contains(BestPrefix + specs[0].Name)
            ? specs.Select(spec => Finite(ReadTensor(file, BestPrefix + spec.Name, spec, checkpoint), BestPrefix + spec.Name)).ToArray()
            : null;
        long step = Count("step", long.MaxValue);
        optimizer.ReadState(file, specs);
        for (int k = 0; k < specs.Count; k++)
        {
            loaded[k].CopyTo(parameters[k], 0);
        }

        return (position, step, bestWeights);
    }

    /// <summary>
    /// A count the checkpoint's metadata holds under <paramref name="key"/>, at most <paramref name="max"/>: missing or
    /// damaged metadata is a SafetensorsException naming the key (not a FormatException from deep in the trainer).
    /// </summary>
    /// <param name="file">The checkpoint.</param>
    /// <param name="key">The metadata key.</param>
    /// <param name="checkpoint">How messages name the file, e.g. "checkpoint 'run.ckpt'".</param>
    /// <param name="max">The largest count allowed.</param>
    internal static long ReadCount(SafetensorsFile file, string key, string checkpoint, long max = long.MaxValue) =>
        !file.Metadata.TryGetValue(key, out string? text) ? throw new SafetensorsException($"{checkpoint} lacks '{key}'.")
        : long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value) && value <= max ? value
        : throw new SafetensorsException($"{checkpoint} has '{key}' = '{text}', which is not a count.");

    /// <summary>
    /// The tensor <paramref name="name"/>, which must have <paramref name="spec"/>'s shape: a damaged checkpoint's shorter
    /// tensor would otherwise be copied over part of a parameter, and a longer one fail with an unrelated message.
    /// </summary>
    /// <param name="file">The checkpoint.</param>
    /// <param name="name">The tensor's name: a parameter's, or one of the optimizer's or the best weights' entries for it.</param>
    /// <param name="spec">The parameter the tensor is for.</param>
    /// <param name="checkpoint">How messages name the file, e.g. "checkpoint 'run.ckpt'".</param>
    internal static float[] ReadTensor(SafetensorsFile file, string name, ParameterSpec spec, string checkpoint)
    {
        if (!file.Contains(name))
        {
            throw new SafetensorsException($"{checkpoint} lacks the tensor '{name}'.");
        }

        var tensor = file.GetTensor(name);
        return tensor.Shape.SequenceEqual(spec.TensorShape()) ? file.ReadAsSingle(name)
            : throw new SafetensorsException($"{checkpoint} has '{name}' of shape {tensor.ShapeText}; this model's '{spec.Name}' is {spec.ShapeText}.");
    }

    // What tells two models of the same sizes apart: the head and the parameters (a model without bias has fewer).
    private static string Description(ITrainableRnnModel model) =>
        $"{model.Shape}; head {(model.HasHead ? model.HeadActivation.ToString() : "none")}; " +
        string.Join(", ", model.ParameterSpecs.Select(p => p.Name + p.ShapeText));

    // The trainer never saves non-finite weights (it stops first), so such a file was damaged or written by hand.
    private float[] Finite(float[] values, string name)
    {
        int bad = NonFinite.IndexOf(values);
        return bad < 0 ? values : throw new SafetensorsException(string.Create(CultureInfo.InvariantCulture,
            $"checkpoint '{Path}' holds {values[bad]} in '{name}' at index {bad}: training cannot resume from non-finite weights."));
    }
}
