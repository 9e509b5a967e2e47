using System.Diagnostics;
using System.Globalization;

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
        bool signalled = false;
        var result = ProcessRunner.Run(Environment.CurrentDirectory, "dotnet", [Path.Combine(AppContext.BaseDirectory, "embedded-rnn.dll"), .. arguments],
            timeout: TimeSpan.FromMinutes(3),
            onOutputLine: (process, line) =>
            {
                if (!signalled && interruptAt(line))
                {
                    signalled = true;
                    using var kill = Process.Start("kill", ["-INT", process.Id.ToString(CultureInfo.InvariantCulture)]);
                    kill.WaitForExit();
                }
            });
        return signalled ? result : result with { Output = "(never interrupted: no line matched)\n" + result.Output };
    }
}
