using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Embedded.Rnn.Safetensors;
using Xunit;
using Xunit.Abstractions;

namespace Embedded.Rnn.Tests;

/// <summary>
/// Crash-safe training, with real processes: tests/CrashTrainee trains with a checkpoint after every step; this test
/// SIGKILLs it at seeded random moments, checks after each kill that the checkpoint is absent or complete, restarts
/// it (it resumes from the checkpoint), and finally compares its weights bit for bit with a run never killed.
/// </summary>
public sealed class CrashResumeTests(ITestOutputHelper output) : IDisposable
{
    private const int Kills = 8;
    private readonly string _directory = Directory.CreateTempSubdirectory("rnn-crash-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Training_killed_at_random_moments_resumes_to_exactly_the_uninterrupted_weights()
    {
        string uninterrupted = Path.Combine(_directory, "uninterrupted");
        RunToCompletion(uninterrupted);
        long totalSteps = CheckpointStep(uninterrupted) ?? throw new InvalidOperationException("the uninterrupted run left no checkpoint");

        // Kill points: steps reached before the kill (plus a random 0-49 ms, one to a few steps, so kills land anywhere
        // inside a step, checkpoint writes included), over the first 60% of the run so there is a run to kill: a step
        // took 26 ms on a loaded Zen 3, and where fsync costs nothing it takes a few, so the last 15% (21 steps) could
        // end within the 49 ms.
        var random = new Random(20261125);
        var targets = Enumerable.Range(1, (int)(totalSteps * 60 / 100)).OrderBy(_ => random.Next()).Take(Kills).Select(s => (long)s).Order().ToArray();
        string killed = Path.Combine(_directory, "killed");
        int temporaryFilesLeft = 0;
        var stepsAtKill = new List<long>();
        foreach (long target in targets)
        {
            using var process = StartTrainee(killed);
            try
            {
                var clock = Stopwatch.StartNew();
                while (!process.HasExited && (CheckpointStep(killed) ?? 0) < target)
                {
                    Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"the trainee did not reach step {target} within 60 s");
                    Thread.Sleep(1);
                }

                Thread.Sleep(random.Next(0, 50));
                Assert.False(process.HasExited, $"the trainee finished before the kill at step {target}");
            }
            finally
            {
                process.Kill(); // SIGKILL on Unix: no finally blocks, no flush, as a power cut would stop the process
                process.WaitForExit();
            }

            // The checkpoint is never partial: absent, or a complete file the strict parser accepts.
            long? step = CheckpointStep(killed);
            Assert.NotNull(step);
            stepsAtKill.Add(step.Value);
            if (File.Exists(Path.Combine(killed, "trainee.ckpt.tmp")))
            {
                temporaryFilesLeft++;
            }
        }

        RunToCompletion(killed);
        output.WriteLine($"{Kills} kills at steps {string.Join(", ", stepsAtKill)} of {totalSteps} (targets {string.Join(", ", targets)}); " +
            $"{temporaryFilesLeft} kills left a temporary checkpoint file behind (killed during a write)");
        Assert.Equal(stepsAtKill.Order(), stepsAtKill); // every restart resumed: progress never went back
        Assert.All(stepsAtKill, step => Assert.True(step < totalSteps, $"a kill came after training had ended (step {step} of {totalSteps})"));
        Assert.Equal(File.ReadAllBytes(Path.Combine(uninterrupted, "trained.safetensors")), File.ReadAllBytes(Path.Combine(killed, "trained.safetensors")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(uninterrupted, "trainee.ckpt")), File.ReadAllBytes(Path.Combine(killed, "trainee.ckpt")));
    }

    /// <summary>The step recorded in the folder's checkpoint, or null when there is none; fails on a corrupt checkpoint.</summary>
    private static long? CheckpointStep(string folder)
    {
        string path = Path.Combine(folder, "trainee.ckpt");
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }

        var file = SafetensorsFile.Parse(bytes); // throws on any truncation or inconsistency
        Assert.Equal("embedded-rnn-checkpoint", file.Metadata["format"]);
        var parameters = file.Tensors.Where(t => !t.Name.Contains('.', StringComparison.Ordinal) || t.Name.StartsWith("head.", StringComparison.Ordinal)).Select(t => t.Name).ToList();
        Assert.NotEmpty(parameters);
        foreach (string name in parameters)
        {
            Assert.True(file.Contains("optimizer.first." + name) && file.Contains("optimizer.second." + name), $"checkpoint lacks the optimizer state of {name}");
        }

        return long.Parse(file.Metadata["step"], CultureInfo.InvariantCulture);
    }

    private void RunToCompletion(string folder)
    {
        using var process = StartTrainee(folder);
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(120)), "the trainee did not finish within 120 s");
        string stdout = process.StandardOutput.ReadToEnd();
        output.WriteLine($"{folder}: {stdout.Trim()}");
        Assert.True(process.ExitCode == 0, $"the trainee failed: {stdout}{process.StandardError.ReadToEnd()}");
    }

    private static Process StartTrainee(string folder)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(TraineePath());
        start.ArgumentList.Add(folder);
        return Process.Start(start)!;
    }

    /// <summary>tests/CrashTrainee's build output, built by the ProjectReference with this assembly's configuration.</summary>
    private static string TraineePath()
    {
        string configuration = typeof(CrashResumeTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        string path = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "CrashTrainee", "bin", configuration, "net10.0", "CrashTrainee.dll"));
        Assert.True(File.Exists(path), $"the trainee is not built at {path}");
        return path;
    }
}
