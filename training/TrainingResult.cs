namespace Embedded.Rnn.Training;

/// <summary>What one epoch achieved.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Epochs">Epochs planned.</param>
/// <param name="TrainingLoss">Mean loss over the epoch's batches this run trained (NaN when a resumed run had none left
/// in this epoch, i.e. its checkpoint was written after the epoch's last batch).</param>
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
