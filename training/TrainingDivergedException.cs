namespace Embedded.Rnn.Training;

/// <summary>The loss or a gradient became NaN or infinite, and training stopped before updating the weights; or, rarely, a
/// finite step overflowed the weights, and training stopped before loading or checkpointing them.</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception for the batch where it happened.</summary>
    /// <param name="epoch">0-based epoch.</param>
    /// <param name="batch">0-based batch within the epoch.</param>
    /// <param name="quantity">What is not finite: "the loss" or "the gradient".</param>
    public TrainingDivergedException(int epoch, int batch, string quantity)
        : this(epoch, batch, quantity, weightsUpdated: false)
    {
    }

    // weightsUpdated: the update itself overflowed (finite gradients, a huge step), so the trainer's weights are lost.
    internal TrainingDivergedException(int epoch, int batch, string quantity, bool weightsUpdated)
        : base($"Training diverged in epoch {epoch + 1}, batch {batch + 1} (counting from 1): {quantity} {(weightsUpdated ? "are" : "is")} not finite. " +
            (weightsUpdated ? "The update overflowed, so this trainer's weights are unusable; a checkpoint, if one is written, still holds the last good step." :
                "The weights were not updated, and a checkpoint, if one is written, still holds the last good step.") +
            " Lower the learning rate or clip gradients (ClipGradientNorm).")
    {
        Epoch = epoch;
        Batch = batch;
        Quantity = quantity;
    }

    /// <summary>Epoch (0-based) of the failing batch.</summary>
    public int Epoch { get; }

    /// <summary>Batch (0-based, within the epoch) that failed.</summary>
    public int Batch { get; }

    /// <summary>What was not finite: "the loss", "the gradient" or "the updated weights".</summary>
    public string Quantity { get; }
}
