using Embedded.Rnn.Safetensors;

namespace Embedded.Rnn.Training;

/// <summary>
/// An update rule over PyTorch-layout tensors, with PyTorch's formulas. It owns its state (momentum buffers,
/// moments, the step count) and that state's entries in a checkpoint: it writes them and reads them back, so
/// the checkpoint format does not need to know which optimizer ran.
/// </summary>
internal interface IOptimizer
{
    /// <summary>One step: updates <paramref name="parameters"/> in place from <paramref name="gradients"/> (same shapes, ParameterSpecs order).</summary>
    void Update(IReadOnlyList<float[]> parameters, IReadOnlyList<float[]> gradients, float learningRate);

    /// <summary>Adds this optimizer's state to a checkpoint being written (tensors named after <paramref name="specs"/>, and metadata).</summary>
    void WriteState(SafetensorsWriter checkpoint, IReadOnlyList<ParameterSpec> specs);

    /// <summary>
    /// Replaces this optimizer's state by the one <see cref="WriteState"/> put in <paramref name="checkpoint"/>; reads all
    /// of it before changing any, so a refused checkpoint leaves the state as it was.
    /// </summary>
    /// <exception cref="SafetensorsException">The checkpoint lacks an entry this optimizer needs, or an entry's shape is not its parameter's.</exception>
    void ReadState(SafetensorsFile checkpoint, IReadOnlyList<ParameterSpec> specs);
}

/// <summary>The optimizer each <see cref="OptimizerKind"/> stands for.</summary>
internal static class Optimizers
{
    /// <summary>
    /// Checkpoint entries shared by the optimizers. "optimizer.first."/"optimizer.second." + a parameter's name
    /// are the names checkpoints have always used, so older checkpoints still resume.
    /// </summary>
    internal const string StepsKey = "optimizer_steps";

    /// <summary>Which optimizer wrote the state (SGD's momentum and Adam's first moment share their entry names).</summary>
    internal const string KindKey = "optimizer";
    internal const string FirstPrefix = "optimizer.first.";
    internal const string SecondPrefix = "optimizer.second.";

    /// <summary>A fresh optimizer (zero state) for tensors shaped as <paramref name="parameters"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">options.Optimizer is not a defined <see cref="OptimizerKind"/>.</exception>
    public static IOptimizer For(TrainingOptions options, IReadOnlyList<float[]> parameters) => options.Optimizer switch
    {
        OptimizerKind.Sgd => new SgdOptimizer(options.Momentum, options.WeightDecay, parameters),
        OptimizerKind.Adam => new AdamOptimizer(options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay, decoupledWeightDecay: false, parameters),
        OptimizerKind.AdamW => new AdamOptimizer(options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay, decoupledWeightDecay: true, parameters),
        _ => throw new ArgumentOutOfRangeException(nameof(options), options.Optimizer, "not an OptimizerKind this trainer knows."),
    };

    /// <summary>
    /// Refuses state another kind of optimizer wrote, since entry names are shared: SGD's momentum would read Adam's first
    /// moments. Checkpoints from before the kind was recorded carry none and are taken as they are.
    /// </summary>
    /// <exception cref="ArgumentException">The checkpoint's optimizer state is of another kind.</exception>
    internal static void RequireKind(SafetensorsFile checkpoint, params string[] kinds)
    {
        if (checkpoint.Metadata.TryGetValue(KindKey, out string? writtenBy) && Array.IndexOf(kinds, writtenBy) < 0)
        {
            throw new ArgumentException($"the checkpoint holds the state of the {writtenBy} optimizer, not {string.Join(" or ", kinds)}; resume with the same optimizer, or start a new checkpoint.");
        }
    }

    internal static long ReadSteps(SafetensorsFile checkpoint) => TrainingCheckpoint.ReadCount(checkpoint, StepsKey, "the checkpoint");

    /// <summary>The optimizer's entry <paramref name="prefix"/> + the parameter's name, shaped as the parameter.</summary>
    internal static float[] ReadEntry(SafetensorsFile checkpoint, string prefix, ParameterSpec spec) =>
        TrainingCheckpoint.ReadTensor(checkpoint, prefix + spec.Name, spec, "the checkpoint");
}
