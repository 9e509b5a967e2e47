using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using Embedded.Rnn.Generator;
using Embedded.Rnn.Hosting;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using Xunit;

namespace Embedded.Rnn.Tests.Generator;

/// <summary>Runs the generator in memory on C# sources and spec files, as the compiler would.</summary>
public static class GeneratorHarness
{
    public const string ProjectDirectory = "/project";

    public sealed record Outcome(GeneratorDriver Driver, GeneratorRunResult Result, Compilation Output)
    {
        public ImmutableArray<Diagnostic> Diagnostics => Result.Diagnostics;

        public string Source(string hintName) => Result.GeneratedSources.Single(s => s.HintName == hintName).SourceText.ToString();
    }

    public static CSharpCompilation Compilation(params string[] sources) =>
        CSharpCompilation.Create(
            "UserProject",
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Preview), path: $"{ProjectDirectory}/Source{i}.cs")),
            InMemoryReferences.FrameworkAndRuntime,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver Driver(params (string Path, string Text)[] specs) => Driver(training: false, specs);

    /// <summary>A driver for the spec files; <paramref name="training"/> sets EmbeddedRnnTraining (training kernels).</summary>
    public static GeneratorDriver Driver(bool training, params (string Path, string Text)[] specs) =>
        Driver(training, specs.Select(s => (AdditionalText)new InMemoryAdditionalText($"{ProjectDirectory}/{s.Path}", s.Text)).ToArray());

    public static GeneratorDriver Driver(params AdditionalText[] texts) => Driver(training: false, texts);

    public static GeneratorDriver Driver(bool training, params AdditionalText[] texts) =>
        Driver(training ? InMemoryBuildProperties.Training : InMemoryBuildProperties.None, texts);

    /// <summary>A driver with the given build_property.* values (as the project's CompilerVisibleProperty items pass them).</summary>
    public static GeneratorDriver Driver(IReadOnlyDictionary<string, string> buildProperties, params (string Path, string Text)[] specs) =>
        Driver(new InMemoryBuildProperties(buildProperties), specs.Select(s => (AdditionalText)new InMemoryAdditionalText($"{ProjectDirectory}/{s.Path}", s.Text)).ToArray());

    private static GeneratorDriver Driver(InMemoryBuildProperties properties, AdditionalText[] texts) =>
        CSharpGeneratorDriver.Create(
            [new RnnGenerator().AsSourceGenerator()],
            texts,
            CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Preview),
            properties,
            new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Every diagnostic a build would list: the generator's, then the compiler's on the user code plus the generated code.</summary>
    public static IReadOnlyList<Diagnostic> BuildDiagnostics(Outcome outcome) =>
        outcome.Diagnostics.Concat(outcome.Output.GetDiagnostics()).Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();

    public static Outcome Run(string source, params (string Path, string Text)[] specs) => Run(Driver(specs), Compilation(source));

    public static Outcome Run(bool training, string source, params (string Path, string Text)[] specs) => Run(Driver(training, specs), Compilation(source));

    public static Outcome Run(GeneratorDriver driver, Compilation compilation)
    {
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        var result = driver.GetRunResult().Results.Single();
        Assert.Null(result.Exception); // the generator reports diagnostics; it never throws
        return new Outcome(driver, result, output);
    }

    /// <summary>Compares generated code with the committed golden file; UPDATE_SNAPSHOTS=1 rewrites it.</summary>
    public static void MatchesSnapshot(string actual, string name, [CallerFilePath] string caller = "")
    {
        string path = Path.Combine(Path.GetDirectoryName(caller)!, "..", "Snapshots", name + ".cs.txt");
        if (Environment.GetEnvironmentVariable("UPDATE_SNAPSHOTS") == "1")
        {
            File.WriteAllText(path, actual);
        }

        Assert.True(File.Exists(path), $"no snapshot {path}; run the tests once with UPDATE_SNAPSHOTS=1 and review the file");
        Assert.Equal(File.ReadAllText(path), actual);
    }

}
