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
        if (Console.IsOutputRedirected)
        {
            // A log file (CI): plain text, one line per epoch; Spectre would wrap it at its default 80 columns.
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
                "epoch {0,4}/{1} {2} loss {3:G4} val {4} lr {5:G3} {6,9:N0} steps/s ETA {7:hh\\:mm\\:ss}",
                report.Epoch + 1, report.Epochs, bar, report.TrainingLoss, validation, report.LearningRate, report.StepsPerSecond, report.Remaining));
            return;
        }

        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture,
            "[grey]epoch[/] {0,4}/{1} [green]{2}[/] loss [yellow]{3:G4}[/] val [yellow]{4}[/] lr {5:G3} {6,9:N0} steps/s ETA {7:hh\\:mm\\:ss}",
            report.Epoch + 1, report.Epochs, bar, report.TrainingLoss, validation, report.LearningRate, report.StepsPerSecond, report.Remaining);
    }
}
