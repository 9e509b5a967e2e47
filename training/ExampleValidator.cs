using System.Globalization;

namespace Embedded.Rnn.Training;

/// <summary>
/// Checks examples before any of them is trained on: whole steps of InputSize values, the target length the
/// <see cref="TargetKind"/> needs, finite values, and for cross-entropy a probability distribution per step. The
/// message names the set, the example and the value's place. Allocates nothing (TrainStep checks every batch).
/// </summary>
internal sealed class ExampleValidator(RnnShape shape, TargetKind target, LossKind loss)
{
    // How far a step's target probabilities may sum from 1: float rounding of e.g. label smoothing, not a looser rule.
    private const float DistributionTolerance = 1e-3f;

    /// <exception cref="ArgumentException">An example is null, empty, ragged, has the wrong target length or a non-finite
    /// value, or (cross-entropy) a step's targets are not probabilities summing to 1.</exception>
    public void Check(IReadOnlyList<TrainingExample> examples, string set)
    {
        for (int i = 0; i < examples.Count; i++)
        {
            var e = examples[i] ?? throw new ArgumentException($"{set} example {i} is null.");
            if (e.Inputs is null || e.Targets is null)
            {
                throw new ArgumentException($"{set} example {i}: {(e.Inputs is null ? "inputs" : "targets")} are null.");
            }

            if (e.Inputs.Length == 0)
            {
                throw new ArgumentException($"{set} example {i}: the sequence is empty; an example needs at least one step of {shape.InputSize} input values.");
            }

            int steps = e.Inputs.Length / shape.InputSize;
            if (steps == 0 || steps * shape.InputSize != e.Inputs.Length)
            {
                throw new ArgumentException($"{set} example {i}: inputs have {e.Inputs.Length} values; expected T × {shape.InputSize} with T >= 1.");
            }

            int expected = target == TargetKind.SequenceToOne ? shape.OutputSize : steps * shape.OutputSize;
            if (e.Targets.Length != expected)
            {
                throw new ArgumentException($"{set} example {i}: targets have {e.Targets.Length} values; expected {expected} ({target}).");
            }

            int bad = NonFinite.IndexOf(e.Inputs);
            if (bad >= 0)
            {
                throw new ArgumentException($"{set} example {i}: input at step {bad / shape.InputSize}, feature {bad % shape.InputSize} is {e.Inputs[bad].ToString(CultureInfo.InvariantCulture)}; inputs must be finite.");
            }

            bad = NonFinite.IndexOf(e.Targets);
            if (bad >= 0)
            {
                throw new ArgumentException(target == TargetKind.SequenceToOne
                    ? $"{set} example {i}: target {bad} is {e.Targets[bad].ToString(CultureInfo.InvariantCulture)}; targets must be finite."
                    : $"{set} example {i}: target at step {bad / shape.OutputSize}, output {bad % shape.OutputSize} is {e.Targets[bad].ToString(CultureInfo.InvariantCulture)}; targets must be finite.");
            }

            if (loss == LossKind.CrossEntropy)
            {
                CheckDistributions(e.Targets, set, i);
            }
        }
    }

    // Cross-entropy's gradient through the softmax, y − t, is the loss's gradient only when each step's targets are
    // probabilities that sum to 1; anything else would train silently on a wrong gradient.
    private void CheckDistributions(float[] targets, string set, int example)
    {
        int outputs = shape.OutputSize;
        for (int start = 0; start < targets.Length; start += outputs)
        {
            var step = targets.AsSpan(start, outputs);
            float sum = 0;
            foreach (float t in step)
            {
                if (t is < 0 or > 1)
                {
                    throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                        $"{set} example {example}: target {t} at step {start / outputs} is not a probability; cross-entropy needs targets in [0, 1] that sum to 1 at each step (one-hot for a class)."));
                }

                sum += t;
            }

            if (MathF.Abs(sum - 1) > DistributionTolerance)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"{set} example {example}: the targets at step {start / outputs} sum to {sum}; cross-entropy needs targets that sum to 1 at each step (one-hot for a class)."));
            }
        }
    }
}
