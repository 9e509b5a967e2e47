using System.Globalization;
using System.Text;

namespace Embedded.Rnn.Training;

/// <summary>
/// The CSV epoch log (<see cref="TrainingOptions.LogPath"/>): a header when the file is new, then one line per
/// epoch, appended, so a resumed run continues the same file (after dropping any lines of the epochs it repeats).
/// Invariant culture; losses and the learning rate round-trip.
/// </summary>
internal sealed class EpochCsvLog(string path)
{
    public const string Header = "epoch,training_loss,validation_loss,learning_rate,steps_per_second,elapsed_seconds";

    /// <summary>
    /// Drops the lines of epochs from <paramref name="epoch"/> on: a resumed run reports them again, and its checkpoint
    /// was written before the run it resumes reported them (a crash between the two). The file is replaced whole
    /// (<see cref="DurableFile"/>), and only when there is a line to drop.
    /// </summary>
    public void DropEpochsFrom(int epoch)
    {
        if (!File.Exists(path))
        {
            return;
        }

        var lines = File.ReadAllLines(path);
        var kept = lines.Where(line => !(int.TryParse(line.AsSpan(0, Math.Max(0, line.IndexOf(',', StringComparison.Ordinal))), NumberStyles.None, CultureInfo.InvariantCulture, out int e) && e >= epoch)).ToArray();
        if (kept.Length < lines.Length)
        {
            DurableFile.Write(path, Encoding.UTF8.GetBytes(string.Concat(kept.Select(line => line + Environment.NewLine))));
        }
    }

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
