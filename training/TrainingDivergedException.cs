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
