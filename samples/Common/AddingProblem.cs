using Embedded.Rnn.Training;

namespace Embedded.Rnn.Samples;

/// <summary>
/// The adding problem (Hochreiter &amp; Schmidhuber 1997): a long-dependency regression task. Each step has two
/// inputs, a value uniform in [0, 1) and a marker; exactly two steps are marked, one in the first half of the
/// sequence and one in the second, and the target is the sum of the two marked values. Solving it requires
/// carrying the first marked value across at least T/2 steps.
/// </summary>
public static class AddingProblem
{
    /// <summary>Inputs per step: the value, then the marker (1 on the two marked steps, 0 elsewhere).</summary>
    public const int InputSize = 2;

    /// <summary>
    /// MSE of the best constant prediction, 1 (the target's mean): the variance of a sum of two independent
    /// U(0, 1) values, 2 × 1/12 = 1/6.
    /// </summary>
    public const double TrivialMse = 1.0 / 6;

    /// <summary>
    /// MSE of a model that knows only one of the two marked values and predicts it plus the other's mean, 1/2:
    /// the variance of one U(0, 1), 1/12. Half of the trivial MSE.
    /// </summary>
    public const double OneValueMse = 1.0 / 12;

    /// <summary>
    /// The bar for "learned": half of <see cref="OneValueMse"/> (1/24, a quarter of the trivial MSE), so a model
    /// must use both marked values, not just the recent one.
    /// </summary>
    public const double LearnedMse = OneValueMse / 2;

    /// <summary>
    /// <paramref name="count"/> examples of <paramref name="steps"/> steps (at least 2), a pure function of the
    /// arguments: the first marker is uniform in [0, T/2), the second in [T/2, T) (T/2 rounded down).
    /// </summary>
    public static TrainingExample[] Generate(int steps, int count, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 2);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var examples = new TrainingExample[count];
        int half = steps / 2;
        for (int n = 0; n < count; n++)
        {
            var random = new DeterministicRandom(seed, (ulong)steps, (ulong)n);
            var inputs = new float[steps * InputSize];
            for (int t = 0; t < steps; t++)
            {
                inputs[t * InputSize] = random.NextSingle();
            }

            int first = random.NextInt(half);
            int second = half + random.NextInt(steps - half);
            inputs[first * InputSize + 1] = 1f;
            inputs[second * InputSize + 1] = 1f;
            examples[n] = new TrainingExample(inputs, [inputs[first * InputSize] + inputs[second * InputSize]]);
        }

        return examples;
    }
}
