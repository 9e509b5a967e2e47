using System.Globalization;

namespace Embedded.Rnn.Training;

/// <summary>
/// The CSV epoch log (<see cref="TrainingOptions.LogPath"/>): a header when the file is new, then one line per
/// epoch, appended, so a resumed run continues the same file. Invariant culture; losses and the learning rate
/// round-trip.
/// </summary>
internal sealed class EpochCsvLog(string path)
{
    public const string Header = "epoch,training_loss,validation_loss,learning_rate,steps_per_second,elapsed_seconds";

    /// <summary>Appends the epoch's line (and the header first, when the file does not exist).</summary>
    public void Append(EpochReport report)
    {
        bool header = !File.Exists(path);
        using var writer = new StreamWriter(path, append: true);
        if (header)
        {
            writer.WriteLine(Header);
        }

        writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{report.Epoch},{report.TrainingLoss:R},{report.ValidationLoss:R},{report.LearningRate:R},{report.StepsPerSecond:F1},{report.Elapsed.TotalSeconds:F3}"));
    }
}
