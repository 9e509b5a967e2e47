using System.Globalization;
using Spectre.Console;

namespace Embedded.Rnn.Training;

/// <summary>
/// One live line per epoch on the console: a bar, the losses, the throughput and the time left. Pass it as
/// <see cref="TrainingOptions.Progress"/>: <c>Progress = new ConsoleProgress()</c>.
/// </summary>
public sealed class ConsoleProgress : IProgress<EpochReport>
{
    /// <summary>Writes the epoch's line.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    public void Report(EpochReport value)
    {
        ArgumentNullException.ThrowIfNull(value);
        const int width = 20;
        int filled = (value.Epoch + 1) * width / value.Epochs;
        string bar = new string('█', filled) + new string('░', width - filled);
        string validation = double.IsNaN(value.ValidationLoss) ? "-" : value.ValidationLoss.ToString("G4", CultureInfo.InvariantCulture);
        const string Line = "[grey]epoch[/] {0,4}/{1} [green]{2}[/] loss [yellow]{3:G4}[/] val [yellow]{4}[/] lr {5:G3} {6,9:N0} steps/s ETA {7:hh\\:mm\\:ss}";
        object[] values = [value.Epoch + 1, value.Epochs, bar, value.TrainingLoss, validation, value.LearningRate, value.StepsPerSecond, value.Remaining];
        if (Console.IsOutputRedirected)
        {
            // A log (CI, a file): Spectre would wrap at its assumed 80 columns and split the line; write it whole, without colour.
            Console.WriteLine(Markup.Remove(string.Format(CultureInfo.InvariantCulture, Line, values)));
            return;
        }

        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, Line, values);
    }
}
