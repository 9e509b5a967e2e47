using System.Collections.Immutable;
using System.Text;
using Embedded.Rnn.Generator;
using Embedded.Rnn.Hosting;
using Embedded.Rnn.Safetensors;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace Embedded.Rnn.Fuzz;

/// <summary>
/// The two fuzz targets and their invariants, shared by the AFL++ harness (Program) and the xunit replay of the
/// committed corpus. A target returns normally when the input was handled as documented and throws
/// <see cref="FuzzInvariantException"/> (or lets an unexpected exception escape) when it was not.
/// </summary>
public static class FuzzTargets
{
    /// <summary>Where the fuzzed spec sits in the fixed in-memory project.</summary>
    public const string SpecPath = "/project/models/net.rnn.json";

    /// <summary>The weights a spec may bake (<c>"weights": "lstm_i1_h8.safetensors.b64"</c>), beside the spec.</summary>
    public const string WeightsPath = "/project/models/lstm_i1_h8.safetensors.b64";

    private const string ModelSource = "using Embedded.Rnn;\nnamespace App;\n[RnnModel(\"models/net.rnn.json\")]\npublic partial class Net { }\n";

    private static readonly CSharpParseOptions ParseOptions = CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Preview);

    private static readonly Lazy<CSharpCompilation> UserProject = new(() => CSharpCompilation.Create(
        "UserProject",
        [CSharpSyntaxTree.ParseText(ModelSource, ParseOptions, path: "/project/Net.cs")],
        InMemoryReferences.FrameworkAndRuntime,
        new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable)));

    private static readonly Lazy<AdditionalText> BakeableWeights = new(() =>
    {
        using var stream = typeof(FuzzTargets).Assembly.GetManifestResourceStream("weights.safetensors.b64")!;
        using var reader = new StreamReader(stream);
        return new InMemoryAdditionalText(WeightsPath, reader.ReadToEnd());
    });

    /// <summary>
    /// One generated model in <see cref="CompileEvery"/> is compiled (chosen by a hash of the input, so a replay
    /// compiles the same ones): compiling costs hundreds of times a generator run, and AFL needs executions.
    /// <c>replay --compile-all</c> and CI compile every model the corpus generates.
    /// </summary>
    public const int CompileEvery = 64;

    /// <summary>Sampled compiles skip generated files longer than this (characters): compiling the largest valid spec's
    /// megabytes of unrolled code would outlast AFL's 10 s limit and be reported as a hang. Their emitters are the same
    /// as a small model's, only with more iterations.</summary>
    public const int CompileLimit = 512 * 1024;

    /// <summary>
    /// Runs the generator on <paramref name="input"/> (UTF-8) as the spec of a fixed project. Invariants: no
    /// exception escapes the generator (the driver would turn one into warning CS8785), every diagnostic is one of
    /// ours and points inside the spec or the source, the result is a generated model or at least one error, and
    /// a generated model (or, for a spec with errors, the class's stand-ins) compiles without errors or warnings (for a
    /// sample of inputs, or all with <paramref name="compileAll"/>).
    /// </summary>
    /// <returns>True when a model was generated.</returns>
    public static bool Spec(ReadOnlySpan<byte> input, bool compileAll = false)
    {
        string text = Encoding.UTF8.GetString(input);
        var result = Generate(text);
        if (result.Exception is not null)
        {
            throw new FuzzInvariantException($"the generator threw {result.Exception.GetType().Name}: {result.Exception.Message}", result.Exception);
        }

        foreach (var d in result.Diagnostics)
        {
            if (!d.Id.StartsWith("ERNN", StringComparison.Ordinal))
            {
                throw new FuzzInvariantException($"the generator run reported {d.Id} (not one of ours): {d.GetMessage()}");
            }

            if (string.IsNullOrWhiteSpace(d.GetMessage()))
            {
                throw new FuzzInvariantException($"{d.Id} has an empty message");
            }

            var span = d.Location.GetLineSpan();
            int length = span.Path == SpecPath ? text.Length : span.Path == WeightsPath ? BakeableWeights.Value.GetText()!.Length : ModelSource.Length;
            if (d.Location.SourceSpan.Start < 0 || d.Location.SourceSpan.End > length || span.StartLinePosition > span.EndLinePosition)
            {
                throw new FuzzInvariantException($"{d.Id} points at {d.Location.SourceSpan} in '{span.Path}', outside its {length} characters");
            }
        }

        // A spec with errors still gives its class the stand-in surface (one source, compiled below like a model), but no model.
        bool errors = result.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);
        bool generated = result.GeneratedSources.Length == 1 && !errors;
        if (!generated && !errors)
        {
            throw new FuzzInvariantException("the spec produced neither a model nor an error");
        }

        if (result.GeneratedSources.Length > 1)
        {
            throw new FuzzInvariantException($"one spec produced {result.GeneratedSources.Length} sources");
        }

        if (result.GeneratedSources.Length == 1 && (compileAll || (Hash(input) % CompileEvery == 0 && result.GeneratedSources[0].SourceText.Length <= CompileLimit)))
        {
            Compile(result.GeneratedSources[0]);
        }

        return generated;
    }

    /// <summary>The generator's run on <paramref name="spec"/> as the spec of the fixed project, with training kernels (so every emitter runs).</summary>
    public static GeneratorRunResult Generate(string spec)
    {
        GeneratorDriver driver = CSharpGeneratorDriver.Create(
            [new RnnGenerator().AsSourceGenerator()],
            [new InMemoryAdditionalText(SpecPath, spec), BakeableWeights.Value],
            ParseOptions,
            InMemoryBuildProperties.Training);
        return driver.RunGenerators(UserProject.Value).GetRunResult().Results.Single();
    }

    /// <summary>Compiles the user's project with the generated source; any error or warning breaks the invariant.</summary>
    public static void Compile(GeneratedSourceResult source)
    {
        var compilation = UserProject.Value.AddSyntaxTrees(source.SyntaxTree);
        var problems = compilation.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToArray();
        if (problems.Length > 0)
        {
            throw new FuzzInvariantException($"the generated code does not compile cleanly: {problems.Length} problem(s), first {problems[0]}");
        }
    }

    // FNV-1a: stable across runs and machines (string.GetHashCode is randomised per process).
    private static uint Hash(ReadOnlySpan<byte> input)
    {
        uint hash = 2166136261;
        foreach (byte b in input)
        {
            hash = (hash ^ b) * 16777619;
        }

        return hash;
    }

    /// <summary>
    /// Parses <paramref name="input"/> as safetensors, reads every tensor, and loads it into a generated model.
    /// Invariants: only <see cref="SafetensorsException"/> is thrown, and once the file has parsed, every rejection
    /// names a tensor (in quotes) of the file or of the model.
    /// </summary>
    /// <returns>True when the bytes loaded into the model.</returns>
    public static bool Safetensors(ReadOnlySpan<byte> input)
    {
        SafetensorsFile file;
        try
        {
            file = SafetensorsFile.Parse(input.ToArray());
        }
        catch (SafetensorsException e)
        {
            RequireMessage(e);
            return false;
        }

        foreach (var tensor in file.Tensors)
        {
            try
            {
                float[] singles = file.ReadAsSingle(tensor.Name);
                double[] doubles = file.ReadAsDouble(tensor.Name);
                if (singles.Length != tensor.ElementCount || doubles.Length != tensor.ElementCount)
                {
                    throw new FuzzInvariantException($"tensor '{tensor.Name}' read {singles.Length} values; its shape {tensor.ShapeText} has {tensor.ElementCount}");
                }
            }
            catch (SafetensorsException e)
            {
                RequireMessage(e);
                RequireNamed(e, [tensor.Name]);
            }
        }

        FuzzNet model;
        try
        {
            model = FuzzNet.FromSafetensors(file);
        }
        catch (SafetensorsException e)
        {
            RequireMessage(e);
            RequireNamed(e, file.Tensors.Select(t => t.Name).Concat(FuzzNet.Parameters.Select(p => p.Name)));
            return false;
        }

        // A loaded model must run: one step on zeros (NaN weights may give NaN outputs; that is the file's content).
        var state = default(FuzzNet.State);
        Span<float> x = stackalloc float[FuzzNet.InputSize];
        Span<float> y = stackalloc float[FuzzNet.OutputSize];
        model.Step(x, ref state, y);
        return true;
    }

    private static void RequireMessage(SafetensorsException e)
    {
        if (string.IsNullOrWhiteSpace(e.Message))
        {
            throw new FuzzInvariantException("SafetensorsException with an empty message", e);
        }
    }

    private static void RequireNamed(SafetensorsException e, IEnumerable<string> names)
    {
        if (!names.Any(n => e.Message.Contains($"'{n}'", StringComparison.Ordinal)))
        {
            throw new FuzzInvariantException($"a tensor-level rejection names no tensor: {e.Message}", e);
        }
    }

}

/// <summary>A fuzz target handled an input in a way its contract does not allow.</summary>
public sealed class FuzzInvariantException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The model the safetensors target loads into: several tensors of two shapes, and a head.</summary>
[RnnModel("Models/fuzz_net.rnn.json")]
public partial class FuzzNet
{
}
