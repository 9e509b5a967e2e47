namespace Embedded.Rnn.Training;

/// <summary>One training sequence and its target.</summary>
/// <param name="Inputs">T × InputSize values, time-major.</param>
/// <param name="Targets">OutputSize values (sequence-to-one) or T × OutputSize (sequence-to-sequence); class probabilities for cross-entropy.</param>
public sealed record TrainingExample(float[] Inputs, float[] Targets)
{
    /// <summary>A classification example: the target is the one-hot vector of <paramref name="label"/>.</summary>
    public static TrainingExample Classification(float[] inputs, int label, int classes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(label);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(label, classes);
        var targets = new float[classes];
        targets[label] = 1f;
        return new TrainingExample(inputs, targets);
    }
}
