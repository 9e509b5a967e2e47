using System.Collections.Immutable;
using System.Reflection;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using Embedded.Rnn.Generator;
using Embedded.Rnn.Hosting;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using Perfolizer.Horology;

namespace Embedded.Rnn.Bench.Generator;

// dotnet run -c Release --project bench/Embedded.Rnn.Bench.Generator -- --filter '*'
public static class Program
{
    public static void Main(string[] args)
    {
        var job = Job.Default.WithId("Generator").WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(10)
            .WithIterationTime(TimeInterval.FromMilliseconds(200));
        var config = DefaultConfig.Instance.AddJob(job).AddDiagnoser(MemoryDiagnoser.Default).WithOptions(ConfigOptions.JoinSummary);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
    }
}

/// <summary>
/// The generator over the benchmark grid (bench/models): a fresh CSharpGeneratorDriver run on a compilation of
/// the attributed partial classes plus their specs as AdditionalFiles, i.e. what a clean build pays. Grid12: all
/// twelve models at once; Grid12Incremental: a second run of the same driver with nothing changed (what an IDE
/// pays when something else in the project is edited); OneModel: a single model of the grid (Params).
/// </summary>
[MemoryDiagnoser]
public class GridBench : GeneratorHarness
{
    private CSharpCompilation _compilation = null!;
    private ImmutableArray<AdditionalText> _texts;
    private GeneratorDriver _warmDriver = null!;

    [GlobalSetup]
    public void Setup()
    {
        (_compilation, _texts) = Build(Grid);
        _warmDriver = Driver(_texts).RunGenerators(_compilation);
        var result = _warmDriver.GetRunResult();
        if (result.Diagnostics.Length > 0 || result.GeneratedTrees.Length != Grid.Length)
        {
            throw new InvalidOperationException("generator did not produce the grid: " + string.Join("; ", result.Diagnostics));
        }

        Console.WriteLine($"// grid: {result.GeneratedTrees.Length} sources, {result.GeneratedTrees.Sum(t => t.GetText().Lines.Count):N0} lines, {result.GeneratedTrees.Sum(t => t.Length):N0} chars");
    }

    [Benchmark]
    public GeneratorDriver Grid12() => Driver(_texts).RunGenerators(_compilation);

    [Benchmark]
    public GeneratorDriver Grid12Incremental() => _warmDriver.RunGenerators(_compilation);
}

[MemoryDiagnoser]
public class OneModelBench : GeneratorHarness
{
    private CSharpCompilation _compilation = null!;
    private ImmutableArray<AdditionalText> _texts;

    [Params("lstm_i1_h8", "lstm_i8_h32", "lstm_i16_h64", "lstm_i32_h128", "gru_i32_h128", "rnn_i32_h128")]
    public string Model { get; set; } = "lstm_i8_h32";

    [GlobalSetup]
    public void Setup()
    {
        (_compilation, _texts) = Build(new[] { Model });
        var tree = Driver(_texts).RunGenerators(_compilation).GetRunResult().GeneratedTrees.Single();
        var text = tree.GetText();
        Console.WriteLine($"// {Model}: generated {text.Lines.Count:N0} lines, {text.Length:N0} chars");
    }

    [Benchmark]
    public GeneratorDriver OneModel() => Driver(_texts).RunGenerators(_compilation);
}

public abstract class GeneratorHarness
{
    public static readonly string[] Grid =
    {
        "lstm_i1_h8", "lstm_i8_h32", "lstm_i16_h64", "lstm_i32_h128",
        "gru_i1_h8", "gru_i8_h32", "gru_i16_h64", "gru_i32_h128",
        "rnn_i1_h8", "rnn_i8_h32", "rnn_i16_h64", "rnn_i32_h128",
    };

    protected static GeneratorDriver Driver(ImmutableArray<AdditionalText> texts) =>
        CSharpGeneratorDriver.Create(new[] { new RnnGenerator().AsSourceGenerator() }, texts,
            new CSharpParseOptions(LanguageVersion.Preview));

    protected static (CSharpCompilation, ImmutableArray<AdditionalText>) Build(IEnumerable<string> models)
    {
        var texts = new List<AdditionalText>();
        var source = new System.Text.StringBuilder("namespace Bench;\n");
        foreach (string name in models)
        {
            string spec = ReadResource(name + ".rnn.json");
            texts.Add(new InMemoryAdditionalText($"/bench/models/{name}.rnn.json", spec));
            string type = string.Concat(name.Split('_').Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
            source.Append($"[Embedded.Rnn.RnnModel(\"models/{name}.rnn.json\")]\npublic partial class {type} {{ }}\n");
        }

        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Where(p => p.EndsWith(".dll", StringComparison.Ordinal))
            .Select(p => MetadataReference.CreateFromFile(p))
            .Append(MetadataReference.CreateFromFile(typeof(Embedded.Rnn.RnnModelAttribute).Assembly.Location));
        var compilation = CSharpCompilation.Create("GridModels",
            new[] { CSharpSyntaxTree.ParseText(source.ToString(), new CSharpParseOptions(LanguageVersion.Preview), "/bench/Models.cs") },
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        return (compilation, texts.ToImmutableArray());
    }

    private static string ReadResource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

}
