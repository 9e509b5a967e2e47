namespace Embedded.Rnn.Training;

/// <summary>
/// Where <see cref="RnnTrainer.Fit"/> is in a run, as a checkpoint records it: the next batch to train and the
/// early-stopping bookkeeping.
/// </summary>
/// <param name="Epoch">0-based epoch of the next batch (Epochs once the run is over).</param>
/// <param name="Batch">0-based batch within <paramref name="Epoch"/>.</param>
/// <param name="BestValidation">Best validation loss so far (NaN before the first).</param>
/// <param name="Patience">Epochs since the best validation loss.</param>
/// <param name="EpochLoss">The sum of the training losses of <paramref name="Epoch"/>'s batches before
/// <paramref name="Batch"/>, so that a resumed epoch reports the mean over all its batches.</param>
internal sealed record FitPosition(int Epoch, int Batch, double BestValidation, int Patience, double EpochLoss)
{
    /// <summary>A run that has not started.</summary>
    public static FitPosition Start { get; } = new(0, 0, double.NaN, 0, 0);
}
