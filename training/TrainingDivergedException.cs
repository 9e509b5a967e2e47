namespace Embedded.Rnn.Training;

/// <summary>The loss or a gradient became NaN or infinite; training stopped before updating the weights.</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception for the batch where it happened.</summary>
    public TrainingDivergedException(int epoch, int batch, string what)
        : base($"Training diverged at epoch {epoch}, batch {batch}: {what} is not finite. The weights were not updated and the last checkpoint is intact; lower the learning rate or clip gradients (ClipGradientNorm).")
    {
        Epoch = epoch;
        Batch = batch;
    }

    /// <summary>Epoch (0-based) of the failing batch.</summary>
    public int Epoch { get; }

    /// <summary>Batch (0-based, within the epoch) that failed.</summary>
    public int Batch { get; }
}

/// <summary>What one epoch achieved.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Epochs">Epochs planned.</param>
/// <param name="TrainingLoss">Mean loss over the epoch's batches.</param>
/// <param name="ValidationLoss">Loss on the validation set (NaN without one).</param>
/// <param name="LearningRate">Learning rate used.</param>
/// <param name="StepsPerSecond">Sequence steps (forward + backward + update) per second.</param>
/// <param name="Elapsed">Time since training started (this run).</param>
/// <param name="Remaining">Estimated time to the last epoch.</param>
public sealed record EpochReport(int Epoch, int Epochs, double TrainingLoss, double ValidationLoss, float LearningRate,
    double StepsPerSecond, TimeSpan Elapsed, TimeSpan Remaining);

/// <summary>The outcome of <see cref="RnnTrainer.Fit"/>.</summary>
/// <param name="Epochs">Every epoch's report (of this run; a resumed run reports from where it resumed).</param>
/// <param name="BestValidationLoss">Best validation loss seen (NaN without validation).</param>
/// <param name="StoppedEarly">True when early stopping ended training.</param>
public sealed record TrainingResult(IReadOnlyList<EpochReport> Epochs, double BestValidationLoss, bool StoppedEarly);
