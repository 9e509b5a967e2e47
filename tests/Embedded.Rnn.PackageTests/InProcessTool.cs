using System.CommandLine;
using Embedded.Rnn.Import;
using Embedded.Rnn.Tool;

namespace Embedded.Rnn.PackageTests;

/// <summary>The tool's commands run in this process with their output captured, as the tool tests call them.</summary>
internal static class InProcessTool
{
    public static (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = ToolCommands.Run(args, new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>
    /// Compiles an imported model's spec with the tool's in-process generator and checks its weights against
    /// <paramref name="golden"/> on every kernel path (forced) and the default one, within the golden check's bound.
    /// </summary>
    public static void AssertGoldenOnEveryPath(string name, ImportedModel imported, Embedded.Rnn.Safetensors.SafetensorsFile golden, Xunit.Abstractions.ITestOutputHelper log)
    {
        var weights = Embedded.Rnn.Safetensors.SafetensorsFile.Parse(imported.ToSafetensors("test"));
        using var compiled = ModelCompiler.Compile(Path.Combine(Path.GetTempPath(), name + ".rnn.json"), imported.Spec.ToJson());
        foreach (KernelPath? kernelPath in Enum.GetValues<KernelPath>().Cast<KernelPath?>().Append(null))
        {
            var model = compiled.FromSafetensors(weights, kernelPath);
            Xunit.Assert.Equal(kernelPath ?? KernelPaths.Best, model.Path);
            var outcome = GoldenCheck.Run(compiled, model, golden, batchFirst: false);
            log.WriteLine($"{name} on {model.Path}{(kernelPath is null ? " (default)" : string.Empty)}: largest scaled error {outcome.WorstError:E2}");
            Xunit.Assert.True(outcome.Failure is null && outcome.WorstError <= GoldenCheck.Bound, $"{name} on {kernelPath?.ToString() ?? "the default path"}: {outcome.Failure} (worst {outcome.WorstError:E2})");
        }
    }

    /// <summary>A written spec on one line (its lines trimmed and joined by a space), to compare with an expected spec.</summary>
    public static string Collapse(string text) => string.Join(' ', text.Split(['\n', '\r'], StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()));
}
