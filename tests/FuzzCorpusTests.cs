using System.Diagnostics;
using Embedded.Rnn.Fuzz;
using Xunit;
using Xunit.Abstractions;

namespace Embedded.Rnn.Tests;

/// <summary>
/// Replays the committed fuzzing corpus (fuzz/corpus: the seeds and what AFL++ found that reached new code) and
/// every input that once broke an invariant (fuzz/regressions) through the fuzz targets, each within a time limit:
/// what the fuzzer proved once stays proved on every CI run, without AFL.
/// </summary>
public sealed class FuzzCorpusTests(ITestOutputHelper output)
{
    private static readonly string FuzzDirectory = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "fuzz"));

    [Theory]
    [InlineData("spec")]
    [InlineData("safetensors")]
    public async Task Every_corpus_and_regression_input_keeps_the_target_invariants(string target)
    {
        Func<byte[], bool> run = target == "spec" ? bytes => FuzzTargets.Spec(bytes) : bytes => FuzzTargets.Safetensors(bytes);
        var files = new[] { "corpus", "regressions" }
            .Select(folder => Path.Combine(FuzzDirectory, folder, target))
            .Where(Directory.Exists)
            .SelectMany(Directory.GetFiles)
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.True(files.Count >= 4, $"expected the committed corpus under {FuzzDirectory}; found {files.Count} files");
        int accepted = 0;
        var slowest = (File: "", Milliseconds: 0L);
        var failures = new List<string>();
        foreach (string file in files)
        {
            byte[] bytes = File.ReadAllBytes(file);
            var clock = Stopwatch.StartNew();
            var attempt = Task.Run(() => run(bytes));
            try
            {
                // A hang is a failure too. The limit is generous: the first input also pays for loading and JIT-compiling Roslyn.
                if (await Task.WhenAny(attempt, Task.Delay(TimeSpan.FromSeconds(30))) != attempt)
                {
                    failures.Add($"{Path.GetFileName(file)}: still running after 30 s");
                    continue;
                }

                accepted += await attempt ? 1 : 0;
            }
            catch (Exception e)
            {
                failures.Add($"{Path.GetFileName(file)}: {e}");
            }

            if (clock.ElapsedMilliseconds > slowest.Milliseconds)
            {
                slowest = (Path.GetFileName(file), clock.ElapsedMilliseconds);
            }
        }

        output.WriteLine($"{target}: {files.Count} inputs, {accepted} accepted, slowest {slowest.File} ({slowest.Milliseconds} ms)");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.InRange(accepted, 1, files.Count - 1); // the corpus holds both valid and invalid inputs
    }
}
