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
    /// <remarks>
    /// On a loaded machine the line can reach this process after the tool has finished. Such a run says nothing about
    /// interruption, so it is run again, up to three times, each after <paramref name="startOver"/> has removed what the
    /// finished run wrote (or the tool would refuse to overwrite it); a signal that found the process running is never
    /// retried, so a tool that ignores Ctrl-C still fails the test.
    /// </remarks>
    public static ProcessRunner.Result RunUntil(IEnumerable<string> arguments, Func<string, bool> interruptAt, Action startOver)
    {
        ProcessRunner.Result result = null!;
        for (int attempt = 1; attempt <= 3; attempt++)
        {
            if (attempt > 1)
            {
                startOver();
            }

            bool signalled = false, tooLate = false;
            // A shell's background job starts with SIGINT ignored, its children inherit that, and .NET then leaves Ctrl-C
            // ignored (as a Unix program should); CI launched that way made the tool train straight through the signal.
            // env restores the default disposition so the tool sees SIGINT as a terminal would send it.
            result = ProcessRunner.Run(Environment.CurrentDirectory, "env", ["--default-signal=INT", "dotnet", Path.Combine(AppContext.BaseDirectory, "embedded-rnn.dll"), .. arguments],
                timeout: TimeSpan.FromMinutes(3),
                onOutputLine: (process, line) =>
                {
                    if (!signalled && interruptAt(line))
                    {
                        signalled = true;
                        tooLate = process.HasExited;
                        if (!tooLate)
                        {
                            using var kill = Process.Start("kill", ["-INT", process.Id.ToString(CultureInfo.InvariantCulture)]);
                            kill.WaitForExit();
                            tooLate = kill.ExitCode != 0; // no such process: it exited meanwhile
                        }
                    }
                });
            if (!signalled)
            {
                return result with { Output = "(never interrupted: no line matched)\n" + result.Output };
            }

            if (!tooLate)
            {
                return result;
            }
        }

        return result with { Output = "(interrupted too late three times: the tool had exited)\n" + result.Output };
    }
}
