using System.Globalization;
using Embedded.Rnn.Safetensors;

namespace Embedded.Rnn.Training;

/// <summary>
/// The checkpoint file (<see cref="TrainingOptions.CheckpointPath"/>): everything a resumed Fit needs to reach exactly
/// the weights of an uninterrupted run, as safetensors.
/// <list type="bullet">
/// <item>Metadata: <c>format</c>; <c>shape</c> and <c>seed</c>, so another model or seed is refused; the run's
/// position (<c>epoch</c>, <c>batch</c>, <c>best_validation</c>, <c>patience</c>) and the trainer's <c>step</c>
/// (dropout streams are numbered by it); and what the optimizer adds.</item>
/// <item>Tensors: the parameters under their state_dict names; the optimizer's entries
/// (<see cref="IOptimizer.WriteState"/>); <c>best.</c> + name for the best weights early stopping keeps.</item>
/// </list>
/// Entries are found by name, so their order in the file does not matter. SafetensorsWriter.Save writes a
/// temporary file, flushes it to disk, renames it over the old one and flushes the directory: a crash or a power cut at
/// any moment leaves either the previous checkpoint or the new one, whole (CrashResumeTests kills a trainer to check
/// this; .ci/durability-check.sh checks the order of the system calls).
/// </summary>
internal sealed class TrainingCheckpoint(string path, ITrainableRnnModel model, ulong seed)
{
    private const string Format = "embedded-rnn-checkpoint";
    private const string BestPrefix = "best.";

    /// <summary>The file.</summary>
    public string Path { get; } = path;

    /// <summary>True when a checkpoint has been written.</summary>
    public bool Exists => File.Exists(Path);

    /// <summary>Writes the checkpoint, replacing the previous one atomically.</summary>
    public void Save(FitPosition position, long step, IReadOnlyList<float[]> parameters, IOptimizer optimizer, IReadOnlyList<float[]>? best)
    {
        var writer = new SafetensorsWriter()
            .AddMetadata("format", Format)
            .AddMetadata("epoch", position.Epoch.ToString(CultureInfo.InvariantCulture))
            .AddMetadata("batch", position.Batch.ToString(CultureInfo.InvariantCulture))
            .AddMetadata("step", step.ToString(CultureInfo.InvariantCulture))
            .AddMetadata("best_validation", position.BestValidation.ToString("R", CultureInfo.InvariantCulture))
            .AddMetadata("patience", position.Patience.ToString(CultureInfo.InvariantCulture))
            .AddMetadata("seed", seed.ToString(CultureInfo.InvariantCulture))
            .AddMetadata("shape", model.Shape.ToString());
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
    /// <exception cref="ArgumentException">The checkpoint was written for another model shape or seed, or holds another optimizer's state.</exception>
    /// <exception cref="SafetensorsException">The file is not a complete checkpoint.</exception>
    public (FitPosition Position, long Step, float[][]? Best) Load(float[][] parameters, IOptimizer optimizer)
    {
        var file = SafetensorsFile.Read(Path);
        string Meta(string key) => file.Metadata.TryGetValue(key, out var v) ? v : throw new SafetensorsException($"checkpoint '{Path}' lacks '{key}'.");
        if (Meta("format") != Format)
        {
            throw new SafetensorsException($"'{Path}' is not a training checkpoint (format '{Meta("format")}').");
        }

        if (Meta("shape") != model.Shape.ToString() || Meta("seed") != seed.ToString(CultureInfo.InvariantCulture))
        {
            throw new ArgumentException($"checkpoint '{Path}' was written for {Meta("shape")} with seed {Meta("seed")}, not this model and seed.");
        }
        var specs = model.ParameterSpecs;
        var best = file.Contains(BestPrefix + specs[0].Name) ? new float[specs.Count][] : null;
        for (int k = 0; k < specs.Count; k++)
        {
            file.ReadAsSingle(specs[k].Name).CopyTo(parameters[k], 0);
            if (best is not null)
            {
                best[k] = file.ReadAsSingle(BestPrefix + specs[k].Name);
            }
        }

        optimizer.ReadState(file, specs);
        var position = new FitPosition(
            int.Parse(Meta("epoch"), CultureInfo.InvariantCulture),
            int.Parse(Meta("batch"), CultureInfo.InvariantCulture),
            double.Parse(Meta("best_validation"), CultureInfo.InvariantCulture),
            int.Parse(Meta("patience"), CultureInfo.InvariantCulture));
        return (position, long.Parse(Meta("step"), CultureInfo.InvariantCulture), best);
    }
}
