namespace Embedded.Rnn.Training;

/// <summary>
/// One mini-batch as the workers see it: examples <c>Examples[Order[n]]</c> for n in [Start, Start + Count),
/// whether to train (dropout and backward) or only evaluate, and the optimizer step it belongs to. A new value for
/// every batch, passed to each worker, so no worker reads a batch that is being replaced.
/// </summary>
/// <param name="Examples">The set the batch is drawn from.</param>
/// <param name="Order">The set's order for this pass (an epoch's shuffle, or the identity); not written while a batch runs.</param>
/// <param name="Start">The batch's first position in <paramref name="Order"/>.</param>
/// <param name="Count">Examples in the batch (at least 1).</param>
/// <param name="Training">True for a training step (dropout, backward), false for evaluation (forward and loss only).</param>
/// <param name="Step">Optimizer steps taken before this batch: example n's dropout stream is Step × BatchSize + (n − Start).</param>
internal readonly record struct BatchContext(IReadOnlyList<TrainingExample> Examples, ReadOnlyMemory<int> Order, int Start, int Count, bool Training, long Step)
{
    /// <summary>The example at batch position <paramref name="n"/> (Start ≤ n &lt; Start + Count).</summary>
    public TrainingExample this[int n] => Examples[Order.Span[n]];

    /// <summary>Sequence steps in the batch (for throughput).</summary>
    public long SequenceSteps(int inputSize)
    {
        long steps = 0;
        for (int n = Start; n < Start + Count; n++)
        {
            steps += this[n].Inputs.Length / inputSize;
        }

        return steps;
    }
}
