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

    private static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(120);

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
                // A hang is a failure too. The limit is generous: the first input pays for loading and JIT-compiling Roslyn,
                // and the inputs the target compiles take seconds each (afl-000152, an LSTM (20, 71), 11 s on an idle
                // Zen 3); with both test projects sharing CI's 2 cores they take several times that.
                if (await Task.WhenAny(attempt, Task.Delay(HangLimit)) != attempt)
                {
                    failures.Add($"{Path.GetFileName(file)}: still running after {HangLimit.TotalSeconds} s");
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

    // The diagnostics a spec can cause. The others need a project the fuzz target does not vary: ERNN001 (no spec
    // file), ERNN009/010/012/016 (the model class), ERNN013 (two specs at one path).
    private static readonly string[] SpecDiagnostics = ["ERNN002", "ERNN003", "ERNN004", "ERNN005", "ERNN006", "ERNN007", "ERNN008", "ERNN011", "ERNN014", "ERNN015"];

    private static readonly string[] CellKinds = ["lstm", "gru", "rnn (tanh)", "rnn (relu)", "rnn (leaky_relu)"];

    private static readonly string[] Flags = ["bidirectional", "no bias", "head", "layers > 1", "nanoFramework"];

    [Fact]
    public void The_spec_corpus_reaches_every_spec_diagnostic_and_every_cell_with_every_flag()
    {
        var reached = new HashSet<string>();
        var combinations = new HashSet<string>();
        foreach (string file in Directory.GetFiles(Path.Combine(FuzzDirectory, "corpus", "spec")))
        {
            string spec = File.ReadAllText(file);
            var result = FuzzTargets.Generate(spec);
            reached.UnionWith(result.Diagnostics.Select(d => d.Id));
            if (result.GeneratedSources.Length == 1 && !result.Diagnostics.Any(d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error))
            {
                combinations.UnionWith(CellAndFlags(spec));
            }
        }

        Assert.Empty(SpecDiagnostics.Except(reached));
        var missing = CellKinds.SelectMany(cell => Flags.Select(flag => $"{cell} + {flag}")).Append("lstm + baked weights").Except(combinations).ToList();
        Assert.True(missing.Count == 0, "no corpus spec generates: " + string.Join(", ", missing));
    }

    // "cell + flag" for every flag a (valid) spec sets, from its JSON (none when System.Text.Json reads it otherwise).
    private static List<string> CellAndFlags(string spec)
    {
        System.Text.Json.JsonDocument json;
        try
        {
            json = System.Text.Json.JsonDocument.Parse(spec, new() { AllowTrailingCommas = true, CommentHandling = System.Text.Json.JsonCommentHandling.Skip });
        }
        catch (System.Text.Json.JsonException)
        {
            return [];
        }

        using (json)
        {
            return [.. Flagged(json.RootElement)];
        }
    }

    private static IEnumerable<string> Flagged(System.Text.Json.JsonElement root)
    {
        string Text(string name, string otherwise) => root.TryGetProperty(name, out var value) && value.ValueKind == System.Text.Json.JsonValueKind.String ? value.GetString()! : otherwise;
        string cell = Text("cell", "?");
        cell = cell == "rnn" ? $"rnn ({Text("activation", "tanh")})" : cell;
        if (root.TryGetProperty("bidirectional", out var bidirectional) && bidirectional.ValueKind == System.Text.Json.JsonValueKind.True) { yield return cell + " + bidirectional"; }
        if (root.TryGetProperty("bias", out var bias) && bias.ValueKind == System.Text.Json.JsonValueKind.False) { yield return cell + " + no bias"; }
        if (root.TryGetProperty("head", out _)) { yield return cell + " + head"; }
        if (root.TryGetProperty("layers", out var layers) && layers.TryGetInt32(out int count) && count > 1) { yield return cell + " + layers > 1"; }
        if (Text("target", "dotnet") == "nanoFramework") { yield return cell + " + nanoFramework"; }
        if (root.TryGetProperty("weights", out _)) { yield return cell + " + baked weights"; }
    }
}
