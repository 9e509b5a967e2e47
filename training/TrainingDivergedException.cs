namespace Embedded.Rnn.Training;

/// <summary>The loss or a gradient became NaN or infinite; training stopped before updating the weights.</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception for the batch where it happened.</summary>
    /// <param name="epoch">0-based epoch.</param>
    /// <param name="batch">0-based batch within the epoch.</param>
    /// <param name="quantity">What is not finite: "the loss" or "the gradient".</param>
    public TrainingDivergedException(int epoch, int batch, string quantity)
        : base($"Training diverged in epoch {epoch + 1}, batch {batch + 1} (counting from 1): {quantity} is not finite. The weights were not " +
            "updated, and a checkpoint, if one is written, still holds the last good step. Lower the learning rate or clip gradients (ClipGradientNorm).")
    {
        Epoch = epoch;
        Batch = batch;
        Quantity = quantity;
    }

    /// <summary>Epoch (0-based) of the failing batch.</summary>
    public int Epoch { get; }

    /// <summary>Batch (0-based, within the epoch) that failed.</summary>
    public int Batch { get; }

    /// <summary>What was not finite: "the loss" or "the gradient".</summary>
    public string Quantity { get; }
}
