using System.Globalization;
using Spectre.Console;

namespace Embedded.Rnn.Training;

/// <summary>One live line per epoch on the console: a bar, the losses, the throughput and the time left.</summary>
public static class ConsoleProgress
{
    /// <summary>Writes the epoch's line.</summary>
    public static void Report(EpochReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        const int width = 20;
        int filled = (report.Epoch + 1) * width / report.Epochs;
        string bar = new string('█', filled) + new string('░', width - filled);
        string validation = double.IsNaN(report.ValidationLoss) ? "-" : report.ValidationLoss.ToString("G4", CultureInfo.InvariantCulture);
        const string Line = "[grey]epoch[/] {0,4}/{1} [green]{2}[/] loss [yellow]{3:G4}[/] val [yellow]{4}[/] lr {5:G3} {6,9:N0} steps/s ETA {7:hh\\:mm\\:ss}";
        object[] values = [report.Epoch + 1, report.Epochs, bar, report.TrainingLoss, validation, report.LearningRate, report.StepsPerSecond, report.Remaining];
        if (Console.IsOutputRedirected)
        {
            // A log (CI, a file): Spectre would wrap at its assumed 80 columns and split the line; write it whole, without colour.
            Console.WriteLine(Markup.Remove(string.Format(CultureInfo.InvariantCulture, Line, values)));
            return;
        }

        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, Line, values);
    }
}
