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

    /// <summary>Replaces this optimizer's state by the one <see cref="WriteState"/> put in <paramref name="checkpoint"/>.</summary>
    /// <exception cref="SafetensorsException">The checkpoint lacks an entry this optimizer needs.</exception>
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

    internal static long ReadSteps(SafetensorsFile checkpoint) =>
        checkpoint.Metadata.TryGetValue(StepsKey, out string? steps)
            ? long.Parse(steps, System.Globalization.CultureInfo.InvariantCulture)
            : throw new SafetensorsException($"the checkpoint lacks '{StepsKey}'.");
}
