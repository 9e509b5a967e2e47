namespace Embedded.Rnn.Training;

/// <summary>
/// A loss on one output vector (one step of one example) against its target, with its gradient. The trainer
/// minimises the mean over a batch's examples and, for sequence-to-sequence, over each example's steps; the
/// loss does its share of that mean, so every implementation scales the same way.
/// </summary>
internal interface ILoss
{
    /// <summary>
    /// True when <see cref="Evaluate"/> writes dL/dz for the head's pre-activation z instead of dL/dy (softmax with
    /// cross-entropy has the simple dL/dz = y − target), so backpropagation skips the activation's derivative.
    /// </summary>
    bool GradientIsPreActivation { get; }

    /// <summary>
    /// The loss of <paramref name="y"/> against <paramref name="target"/> divided by <paramref name="steps"/>
    /// (the steps the example's loss is averaged over: 1 for sequence-to-one); writes the gradient, divided by
    /// <paramref name="batch"/> × <paramref name="steps"/>, into <paramref name="gradient"/>. All three spans have the output size.
    /// </summary>
    double Evaluate(ReadOnlySpan<float> y, ReadOnlySpan<float> target, Span<float> gradient, int steps, int batch);
}

/// <summary>The loss each <see cref="LossKind"/> stands for.</summary>
internal static class Losses
{
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kind"/> is not a defined <see cref="LossKind"/>.</exception>
    public static ILoss For(LossKind kind) => kind switch
    {
        LossKind.MeanSquaredError => new MeanSquaredError(),
        LossKind.CrossEntropy => new CrossEntropy(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a LossKind this trainer knows."),
    };
}
