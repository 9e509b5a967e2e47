using System.Diagnostics;
using System.Text;

namespace Embedded.Rnn.PackageTests;

/// <summary>Runs dotnet and other commands as a user would type them, capturing everything they print.</summary>
public static class ProcessRunner
{
    /// <param name="Output">Everything printed, standard output and error interleaved as they came.</param>
    /// <param name="StandardOutput">Standard output alone.</param>
    /// <param name="StandardError">Standard error alone.</param>
    public sealed record Result(int ExitCode, string Output, string StandardOutput = "", string StandardError = "")
    {
        /// <summary>Everything the command printed, for failure messages.</summary>
        public override string ToString() => $"exit code {ExitCode}\n{Output}";
    }

    /// <param name="onOutputLine">Called with each line of standard output as it arrives (and the running process), for
    /// tests that act on what a command prints, such as interrupting it.</param>
    public static Result Run(string workingDirectory, string fileName, IEnumerable<string> arguments, string? standardInput = null,
        IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null, Action<Process, string>? onOutputLine = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = standardInput is not null,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The test host runs under dotnet test, whose MSBuild variables would leak into the user's build.
        foreach (string key in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k == "DOTNET_HOST_PATH").ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        start.Environment["DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE"] = "1";
        start.Environment["DOTNET_GENERATE_ASPNET_CERTIFICATE"] = "0";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var output = new StringBuilder();
        var standardOutput = new StringBuilder();
        var standardError = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                    standardOutput.AppendLine(e.Data);
                    onOutputLine?.Invoke(process, e.Data);
                }
            }
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); standardError.AppendLine(e.Data); } } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (standardInput is not null)
        {
            process.StandardInput.Write(standardInput);
            process.StandardInput.Close();
        }

        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish in time:\n{output}");
        }

        process.WaitForExit(); // drains the output events
        lock (output)
        {
            return new Result(process.ExitCode, output.ToString(), standardOutput.ToString(), standardError.ToString());
        }
    }

    public static Result Dotnet(string workingDirectory, params string[] arguments) => Run(workingDirectory, "dotnet", arguments);

    /// <summary>The repository root (where Embedded.Rnn.sln is), found from the test's output folder.</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "Embedded.Rnn.sln")))
                {
                    return directory.FullName;
                }
            }

            throw new InvalidOperationException("Embedded.Rnn.sln not found above " + AppContext.BaseDirectory);
        }
    }

    public static string Data(string fileName) => Path.Combine(AppContext.BaseDirectory, "Data", fileName);
}
