using System.Diagnostics;
using System.Text;

namespace Embedded.Rnn.PackageTests;

/// <summary>The embedded-rnn tool in its own process (the build beside the tests), for what only a process has: signals.</summary>
public static class ToolProcess
{
    /// <summary>
    /// Runs <c>embedded-rnn</c> with <paramref name="arguments"/> and sends it SIGINT (what Ctrl-C sends) as soon as it
    /// prints a line that <paramref name="interruptAt"/> accepts; returns its exit code and everything it printed.
    /// </summary>
    public static ProcessRunner.Result RunUntil(IEnumerable<string> arguments, Func<string, bool> interruptAt)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "embedded-rnn.dll"));
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        bool signalled = false;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (output)
            {
                output.AppendLine(e.Data);
                if (!signalled && interruptAt(e.Data))
                {
                    signalled = true;
                    using var kill = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
                    kill.WaitForExit();
                }
            }
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"embedded-rnn did not finish in time:\n{output}");
        }

        process.WaitForExit(); // drains the output events
        lock (output)
        {
            return new ProcessRunner.Result(process.ExitCode, (signalled ? string.Empty : "(never interrupted: no line matched)\n") + output);
        }
    }
}
