using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using System.Text.Json;
using Embedded.Rnn.Generator;
using Embedded.Rnn.Hosting;
using Embedded.Rnn.Safetensors;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace Embedded.Rnn.Tool;

/// <summary>
/// Compiles a spec at run time with the generator the package ships: a one-class compilation bound to the spec
/// (an in-memory AdditionalText with the spec's real path, so diagnostics name the user's file), Roslyn's
/// generator driver, an in-memory assembly in a collectible load context. The tool so trains and checks the
/// exact kernels a user's build generates from the same spec; a spec the generator rejects gives its
/// diagnostics (id, file, line, column) as the error.
/// </summary>
public static class ModelCompiler
{
    private const string ClassName = "ToolModel";
    private const string Namespace = "Embedded.Rnn.Tool.Generated";

    /// <summary>
    /// Compiles the spec file at <paramref name="specPath"/>. The tool trains and checks float32 models: a spec with a
    /// bf16 or int8 precision is refused unless <paramref name="allowNarrowWeights"/> (export, which runs no model).
    /// </summary>
    /// <exception cref="ToolException">The file is missing, the generator or compiler reported errors (listed), or the precision is refused.</exception>
    public static CompiledModel CompileFile(string specPath, bool allowNarrowWeights = false)
    {
        if (!File.Exists(specPath))
        {
            throw new ToolException($"spec file not found: {specPath}");
        }

        return Compile(Path.GetFullPath(specPath), File.ReadAllText(specPath), allowNarrowWeights);
    }

    /// <summary>
    /// Compiles spec text; <paramref name="specPath"/> names it in diagnostics and anchors a "weights" path. A bf16 or int8
    /// precision is refused unless <paramref name="allowNarrowWeights"/>, as in <see cref="CompileFile"/>.
    /// </summary>
    /// <exception cref="ToolException">The generator or compiler reported errors (listed with file, line and column), or the precision is refused.</exception>
    public static CompiledModel Compile(string specPath, string specText, bool allowNarrowWeights = false)
    {
        var texts = new List<AdditionalText> { new InMemoryAdditionalText(specPath, specText) };
        if (BakedWeightsPath(specPath, specText) is { } weights && File.Exists(weights))
        {
            texts.Add(new InMemoryAdditionalText(weights, File.ReadAllText(weights)));
        }

        var parseOptions = CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Preview);
        string source = $$"""
            namespace {{Namespace}};

            [global::Embedded.Rnn.RnnModel("{{Path.GetFileName(specPath).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}}")]
            public sealed partial class {{ClassName}} { }
            """;
        var compilation = CSharpCompilation.Create(
            "Embedded.Rnn.Tool.Generated." + Guid.NewGuid().ToString("N"),
            [CSharpSyntaxTree.ParseText(source, parseOptions, path: Path.Combine(Path.GetDirectoryName(specPath) ?? string.Empty, "ToolModel.cs"))],
            InMemoryReferences.FrameworkAndRuntime,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release, nullableContextOptions: NullableContextOptions.Enable));
        // The tool trains and checks gradients: generate the training kernels, as the Embedded.Rnn.Training package does.
        var driver = CSharpGeneratorDriver.Create([new RnnGenerator().AsSourceGenerator()], texts, parseOptions, InMemoryBuildProperties.Training);
        driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        var errors = generatorDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (errors.Count > 0)
        {
            throw new ToolException("the spec is not valid:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(Format)));
        }

        var warnings = generatorDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Warning).Select(Format).ToList();
        using var image = new MemoryStream();
        var emitted = output.Emit(image);
        if (!emitted.Success)
        {
            // The generator accepted the spec, so this is a generator bug, not the user's: say so.
            throw new ToolException("the generated code did not compile (please report this with the spec):" + Environment.NewLine +
                string.Join(Environment.NewLine, emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(Format)));
        }

        image.Position = 0;
        var context = new AssemblyLoadContext("embedded-rnn " + Path.GetFileName(specPath), isCollectible: true);
        var assembly = context.LoadFromStream(image);
        var type = assembly.GetType($"{Namespace}.{ClassName}", throwOnError: true)!;
        if (!typeof(IGeneratedRnnModel).IsAssignableFrom(type))
        {
            context.Unload();
            throw new ToolException($"{specPath}: a \"target\": \"nanoFramework\" spec has no desktop kernels to train or check; use the same spec without \"target\".");
        }

        // A bf16 or int8 model has no training kernels: the tool trains and checks its float32 twin. Export needs no kernels.
        var compiled = new CompiledModel(context, type, warnings);
        if (compiled.Precision != WeightStorage.Float32 && !allowNarrowWeights)
        {
            compiled.Dispose();
            throw new ToolException($"{specPath}: the spec's precision is {KernelLayout.PrecisionName(compiled.Precision)}: this command runs float32 models. "
                + "Remove \"precision\" (or set \"f32\") to train or check the model; a bf16 or int8 model loads the float32 weights that result.");
        }

        return compiled;
    }

    /// <summary>"file(line,col): error ERNN002: message", the way dotnet build prints it.</summary>
    public static string Format(Diagnostic diagnostic)
    {
        var span = diagnostic.Location.GetMappedLineSpan();
        string where = span.IsValid ? $"{span.Path}({span.StartLinePosition.Line + 1},{span.StartLinePosition.Character + 1}): " : string.Empty;
        string severity = diagnostic.Severity == DiagnosticSeverity.Error ? "error" : "warning";
        return $"{where}{severity} {diagnostic.Id}: {diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
    }

    private static string? BakedWeightsPath(string specPath, string specText)
    {
        try
        {
            using var json = JsonDocument.Parse(specText);
            return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("weights", out var weights) && weights.ValueKind == JsonValueKind.String
                ? Path.Combine(Path.GetDirectoryName(specPath) ?? string.Empty, weights.GetString()!)
                : null;
        }
        catch (JsonException)
        {
            return null; // the generator reports malformed JSON at the exact position
        }
    }

}

/// <summary>A model class generated and loaded at run time; unloads its assembly when disposed.</summary>
public sealed class CompiledModel : IDisposable
{
    private readonly AssemblyLoadContext _context;
    private readonly Type _type;

    internal CompiledModel(AssemblyLoadContext context, Type type, IReadOnlyList<string> warnings)
    {
        _context = context;
        _type = type;
        Warnings = warnings;
        Shape = (RnnShape)type.GetProperty("Shape", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
        Parameters = (IReadOnlyList<ParameterSpec>)type.GetProperty("Parameters", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
        KernelLayout.TryParsePrecision((string?)type.GetField("Precision", BindingFlags.Public | BindingFlags.Static)!.GetValue(null), out var precision);
        Precision = precision;
    }

    /// <summary>How the model stores its weights (the spec's precision).</summary>
    public WeightStorage Precision { get; }

    /// <summary>The generator's warnings (e.g. ERNN008 unknown field), formatted as dotnet build prints them.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The model's sizes.</summary>
    public RnnShape Shape { get; }

    /// <summary>The tensors the model loads, in PyTorch state_dict order.</summary>
    public IReadOnlyList<ParameterSpec> Parameters { get; }

    /// <summary>A model instance with the given PyTorch-layout tensors (Parameters order).</summary>
    public ITrainableRnnModel FromParameters(IReadOnlyList<float[]> parameters) =>
        (ITrainableRnnModel)Invoke("FromParameters", [typeof(IReadOnlyList<float[]>), typeof(KernelPath?)], parameters, null);

    /// <summary>A model instance loaded strictly from a safetensors file, on <paramref name="path"/> (null: the widest this machine has).</summary>
    /// <exception cref="SafetensorsException">A tensor is missing, extra, misnamed or misshaped (named in the message).</exception>
    public ITrainableRnnModel FromSafetensors(SafetensorsFile file, KernelPath? path = null) =>
        (ITrainableRnnModel)Invoke("FromSafetensors", [typeof(SafetensorsFile), typeof(KernelPath?)], file, path);

    /// <summary>
    /// Runs <paramref name="model"/> over one sequence (T × InputSize, time-major) from the given initial state
    /// (h0 and c0 laid out like PyTorch's [layers·directions, hidden]; null for zero) and returns T × OutputSize.
    /// </summary>
    public float[] Run(ITrainableRnnModel model, float[] inputs, float[]? h0, float[]? c0)
    {
        var stateType = _type.GetNestedType("State")!;
        var run = typeof(CompiledModel).GetMethod(nameof(RunTyped), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(stateType);
        return (float[])run.Invoke(null, [model, inputs, h0, c0])!;
    }

    /// <inheritdoc />
    public void Dispose() => _context.Unload();

    private static float[] RunTyped<TState>(IRnnModel<TState> model, float[] inputs, float[]? h0, float[]? c0)
        where TState : struct, IRnnState
    {
        var shape = model.Shape;
        var state = default(TState);
        for (int layer = 0; layer < shape.LayerCount; layer++)
        {
            for (int direction = 0; direction < shape.DirectionCount; direction++)
            {
                int offset = (layer * shape.DirectionCount + direction) * shape.HiddenSize;
                h0?.AsSpan(offset, shape.HiddenSize).CopyTo(state.Hidden(layer, direction));
                c0?.AsSpan(offset, shape.HiddenSize).CopyTo(state.Cell(layer, direction));
            }
        }

        var outputs = new float[inputs.Length / shape.InputSize * shape.OutputSize];
        model.Run(inputs, ref state, outputs);
        return outputs;
    }

    private object Invoke(string name, Type[] signature, params object?[] arguments)
    {
        var method = _type.GetMethod(name, BindingFlags.Public | BindingFlags.Static, signature)
            ?? throw new InvalidOperationException($"the generated class has no {name}({string.Join(", ", signature.Select(t => t.Name))})");
        try
        {
            return method.Invoke(null, arguments)!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }
}
