namespace Embedded.Rnn.Training;

/// <summary>
/// Applies a loss to the outputs of one window of a sequence (the whole sequence, or one truncated-BPTT window), as
/// <see cref="TargetKind"/> says: sequence-to-one scores only the sequence's last step (in its last window),
/// sequence-to-sequence every step, each weighted 1/T so an example counts once whatever its length.
/// </summary>
internal sealed class WindowLoss
{
    private readonly ILoss _loss;
    private readonly TargetKind _target;
    private readonly int _outputSize;

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="target"/> is not a defined <see cref="TargetKind"/>.</exception>
    public WindowLoss(ILoss loss, TargetKind target, int outputSize)
    {
        if (!Enum.IsDefined(target))
        {
            throw new ArgumentOutOfRangeException(nameof(target), target, "not a TargetKind this trainer knows.");
        }

        _loss = loss;
        _target = target;
        _outputSize = outputSize;
    }

    /// <inheritdoc cref="ILoss.GradientIsPreActivation"/>
    public bool GradientIsPreActivation => _loss.GradientIsPreActivation;

    /// <summary>Whether a window has any target: every window for sequence-to-sequence, the last one for sequence-to-one.</summary>
    public bool Scores(bool lastWindow) => lastWindow || _target == TargetKind.SequenceToSequence;

    /// <summary>
    /// The loss of one window's <paramref name="outputs"/> (<paramref name="length"/> × OutputSize, starting at step
    /// <paramref name="start"/> of a <paramref name="steps"/>-step sequence) and its gradient into
    /// <paramref name="gradient"/> (same layout; untouched where no target applies), scaled for a mean over <paramref name="batch"/> examples.
    /// </summary>
    public double Evaluate(ReadOnlySpan<float> outputs, float[] targets, int start, int length, int steps, Span<float> gradient, int batch)
    {
        int o = _outputSize;
        if (_target == TargetKind.SequenceToOne)
        {
            var y = outputs.Slice((length - 1) * o, o);
            return _loss.Evaluate(y, targets, gradient.Slice((length - 1) * o, o), 1, batch);
        }

        double loss = 0;
        for (int t = 0; t < length; t++)
        {
            loss += _loss.Evaluate(outputs.Slice(t * o, o), targets.AsSpan((start + t) * o, o), gradient.Slice(t * o, o), steps, batch);
        }

        return loss;
    }
}
