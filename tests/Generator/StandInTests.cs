using Embedded.Rnn.Generator.Emit;
using Embedded.Rnn.Generator.Model;
using Embedded.Rnn.Hosting;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace Embedded.Rnn.Tests.Generator;

/// <summary>
/// The error-time surface (StubEmitter): with a spec error, code that uses the model class gets the ERNN error alone, not a
/// CS0117 at every use of the class; the stand-ins offer every public member of the model; and the names the clash check
/// (ERNN017) guards are exactly the ones the generated code declares.
/// </summary>
public sealed class StandInTests
{
    private const string Model = """
        using Embedded.Rnn;
        namespace App;
        [RnnModel("models/net.rnn.json")]
        public partial class Net { }
        """;

    // Specs with one error each (and no other diagnostic); null: no spec file at all.
    public static TheoryData<string?, string> BrokenSpecs() => new()
    {
        { null, "ERNN001" },
        { "{\"cell\": \"lstm\", \"input\": 6,, \"hidden\": 32}", "ERNN002" },
        { "{\"cell\": \"lstmm\", \"input\": 6, \"hidden\": 32}", "ERNN003" },
        { "{\"cell\": \"lstm\", \"input\": 6, \"hidden\": 5000}", "ERNN007" },
    };

    private static readonly string RepositoryRoot = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..");

    // The README's quick-start program, as a user copies it (the same extraction as PackageTests' Readme.QuickStartBlock).
    private static string ReadmeProgram()
    {
        var lines = File.ReadAllLines(Path.Combine(RepositoryRoot, "README.md"));
        int marker = Array.FindIndex(lines, l => l.TrimStart().StartsWith("<!-- quick-start:program", StringComparison.Ordinal));
        int open = Array.FindIndex(lines, marker + 1, l => l.TrimStart().StartsWith("```", StringComparison.Ordinal));
        int close = Array.FindIndex(lines, open + 1, l => l.TrimStart().StartsWith("```", StringComparison.Ordinal));
        Assert.True(marker >= 0 && open > marker && close > open, "README.md has no quick-start:program block");
        return string.Join("\n", lines[(open + 1)..close].Select(l => l.Trim() is "" ? "" : l[lines[open].IndexOf('`')..]));
    }

    // The SDK's implicit usings for a console project, which the quick start relies on.
    private const string ImplicitUsings = "global using System; global using System.IO; global using System.Linq; global using System.Collections.Generic;";

    private static GeneratorHarness.Outcome Run(string? spec, bool training, OutputKind kind, params string[] sources)
    {
        var parse = CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Preview);
        var compilation = CSharpCompilation.Create(
            "UserProject",
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, parse, path: $"{GeneratorHarness.ProjectDirectory}/Source{i}.cs")),
            InMemoryReferences.FrameworkAndRuntime,
            new CSharpCompilationOptions(kind, nullableContextOptions: NullableContextOptions.Enable));
        var specs = spec is null ? [] : new[] { ("models/net.rnn.json", spec) };
        return GeneratorHarness.Run(GeneratorHarness.Driver(training, specs), compilation);
    }

    private static void OnlyError(GeneratorHarness.Outcome outcome, string id)
    {
        var all = GeneratorHarness.BuildDiagnostics(outcome);
        Assert.True(all.Count == 1 && all[0].Id == id, $"expected {id} alone, got:\n{string.Join("\n", all)}");
    }

    [Theory]
    [MemberData(nameof(BrokenSpecs))]
    public void The_readme_quick_start_against_a_broken_spec_lists_the_spec_error_alone(string? spec, string id)
    {
        string program = ReadmeProgram().Replace("models/gesture.rnn.json", "models/net.rnn.json");
        Assert.Contains("GestureNet.FromSafetensors(", program);
        OnlyError(Run(spec, training: false, OutputKind.ConsoleApplication, program, ImplicitUsings), id);
    }

    // Every public member of either kind of model (streaming or bidirectional, baked or not), used as users do, including
    // through the interfaces the trainer and hosts take.
    private const string EveryMember = """
        using System;
        using System.Collections.Generic;
        using System.IO;
        using Embedded.Rnn;
        namespace App;
        public static class User
        {
            public static string Use(bool trained)
            {
                const int sizes = Net.InputSize + Net.HiddenSize + Net.LayerCount + Net.DirectionCount + Net.GateCount + Net.LayerOutputSize + Net.OutputSize + Net.State.SavedLength;
                const string cell = Net.CellKind;
                const bool head = Net.HasHead;
                Span<float> x = stackalloc float[Net.InputSize];
                Span<float> y = stackalloc float[Net.OutputSize];
                Span<byte> bytes = stackalloc byte[Net.State.SavedLength];
                var model = Net.FromSafetensors("net.safetensors");
                model = Net.FromSafetensors(Stream.Null, KernelPath.Scalar);
                model = Net.FromSafetensors(new ReadOnlyMemory<byte>(new byte[8]));
                model = Net.FromSafetensors(Embedded.Rnn.Safetensors.SafetensorsFile.Read("net.safetensors"));
                model = Net.FromParameters(new[] { new float[Net.HiddenSize] });
                model = Net.FromBakedWeights();
                model.LoadParameters(new[] { new float[Net.HiddenSize] });
                IReadOnlyList<ParameterSpec> parameters = Net.Parameters;
                RnnShape shape = Net.Shape;
                KernelPath path = model.Path;
                var state = default(Net.State);
                model.Step(x, ref state, y);
                model.Step(x, new Net.State[1], y);
                model.Run(x, ref state, y);
                model.Run(x, ref state, y, new float[Net.RunWorkspaceLength(1)]);
                state.Hidden(0)[0] = 1f;
                state.Cell(0, 0).Clear();
                state.Reset();
                int written = state.WriteTo(bytes);
                state.ReadFrom(bytes);
                IStreamingRnnModel<Net.State> streaming = model;
                IRnnModel<Net.State> sequence = model;
                IGeneratedRnnModel generated = model;
                object trainable = trained ? Trainable(model) : model;
                return $"{sizes}{cell}{head}{parameters.Count}{shape}{path}{state.IsFinite()}{written}{streaming}{sequence}{generated}{trainable}";
            }

            private static object Trainable(object model) => model;
        }
        """;

    [Theory]
    [MemberData(nameof(BrokenSpecs))]
    public void Code_using_every_public_member_against_a_broken_spec_lists_the_spec_error_alone(string? spec, string id)
    {
        OnlyError(Run(spec, training: false, OutputKind.DynamicallyLinkedLibrary, Model, EveryMember), id);
        // With training kernels asked for, the class is a trainable model too (the trainer takes ITrainableRnnModel).
        string trained = EveryMember.Replace("private static object Trainable(object model) => model;", "private static ITrainableRnnModel Trainable(Net model) => model;");
        OnlyError(Run(spec, training: true, OutputKind.DynamicallyLinkedLibrary, Model, trained), id);
    }

    // The nanoFramework flavour: the spec says "target": "nanoFramework", or the project has no Embedded.Rnn runtime.
    private const string EveryNanoMember = """
        namespace App
        {
            public static class User
            {
                public static string Use()
                {
                    const int sizes = Net.InputSize + Net.HiddenSize + Net.LayerCount + Net.DirectionCount + Net.GateCount + Net.LayerOutputSize + Net.OutputSize + Net.ParameterCount;
                    const string cell = Net.CellKind;
                    const bool head = Net.HasHead;
                    float[][] parameters = new float[Net.ParameterCount][];
                    for (int i = 0; i < parameters.Length; i++)
                    {
                        parameters[i] = new float[Net.ParameterLength(i)];
                    }

                    var model = new Net(parameters);
                    model = Net.FromBakedWeights();
                    var state = new Net.State();
                    state = new Net.State(16);
                    float[] x = new float[Net.InputSize];
                    float[] y = new float[Net.OutputSize];
                    model.Step(x, state, y);
                    model.Step(x, 0, state, y, 0);
                    model.Step(x, new Net.State[] { state }, y);
                    model.Run(x, state, y);
                    state.Hidden[Net.StateOffset(0, 0)] = 1f;
                    float c = state.Cell[0];
                    state.Reset();
                    return Net.ParameterName(0) + sizes.ToString() + cell + (head ? "h" : "") + c.ToString();
                }
            }
        }
        """;

    private const string NanoAttribute = """
        namespace Embedded.Rnn
        {
            [System.AttributeUsage(System.AttributeTargets.Class)]
            public sealed class RnnModelAttribute : System.Attribute
            {
                public RnnModelAttribute(string specPath) { }
            }
        }
        """;

    [Fact]
    public void NanoFramework_code_using_every_public_member_against_a_broken_spec_lists_the_spec_error_alone()
    {
        const string spec = "{\"cell\": \"lstmm\", \"input\": 6, \"hidden\": 32, \"target\": \"nanoFramework\"}";
        var outcome = Run(spec, training: false, OutputKind.DynamicallyLinkedLibrary, Model, EveryNanoMember);
        OnlyError(outcome, "ERNN003");
        Assert.Contains("#nullable disable", outcome.Source("App.Net.Rnn.g.cs"));

        // A nanoFramework project references no Embedded.Rnn runtime: a spec that cannot be read at all gets the nano stand-ins.
        string nanoModel = "namespace App { [Embedded.Rnn.RnnModel(\"models/net.rnn.json\")] public partial class Net { } }";
        var compilation = CSharpCompilation.Create(
            "NanoProject",
            new[] { NanoAttribute, nanoModel, EveryNanoMember }.Select((s, i) => CSharpSyntaxTree.ParseText(s, CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Preview), path: $"{GeneratorHarness.ProjectDirectory}/Source{i}.cs")),
            InMemoryReferences.FrameworkAndRuntime.Where(r => !r.Display!.EndsWith("Embedded.Rnn.dll", StringComparison.Ordinal)),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        Assert.Null(compilation.GetTypeByMetadataName("Embedded.Rnn.KernelPath"));
        var missing = GeneratorHarness.Run(GeneratorHarness.Driver(Array.Empty<(string, string)>()), compilation);
        OnlyError(missing, "ERNN001");
        string stub = missing.Source("App.Net.Rnn.g.cs");
        Assert.Empty(CSharpSyntaxTree.ParseText(stub, CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.CSharp10)).GetDiagnostics());
    }

    // A grid that reaches every conditional member of both emitters: streaming and bidirectional, head or not, baked
    // weights or not, training kernels or not, float32, bf16 or int8 weights, .NET and nanoFramework.
    public static TheoryData<string, bool> Models()
    {
        var data = new TheoryData<string, bool>();
        foreach (string target in new[] { "", ", \"target\": \"nanoFramework\"" })
        {
            data.Add("{\"cell\": \"lstm\", \"input\": 1, \"hidden\": 8, \"weights\": \"w.b64\"" + target + "}", false);
            data.Add("{\"cell\": \"gru\", \"input\": 2, \"hidden\": 4, \"layers\": 2, \"bidirectional\": true, \"head\": {\"output\": 3}" + target + "}", target == "");
            data.Add("{\"cell\": \"rnn\", \"input\": 3, \"hidden\": 5, \"head\": {\"output\": 2, \"activation\": \"softmax\"}" + target + "}", target == "");
            data.Add("{\"cell\": \"lstm\", \"input\": 2, \"hidden\": 3, \"bidirectional\": true" + target + "}", false);
            data.Add("{\"cell\": \"lstm\", \"input\": 1, \"hidden\": 8, \"weights\": \"w.b64\", \"precision\": \"int8\"" + target + "}", false);
            data.Add("{\"cell\": \"gru\", \"input\": 2, \"hidden\": 4, \"bidirectional\": true, \"head\": {\"output\": 3}, \"precision\": \"bf16\"" + target + "}", false);
        }

        return data;
    }

    private static readonly string Weights = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "Models", "lstm_i1_h8.safetensors.b64"));

    private static GeneratorHarness.Outcome Generate(string spec, bool training) =>
        GeneratorHarness.Run(training, Model, ("models/net.rnn.json", spec), ("models/w.b64", Weights));

    // The members of App.Net (and of its State) that the generated file declares, as "static? type name(parameters)".
    private static List<string> GeneratedMembers(GeneratorHarness.Outcome outcome, Func<ISymbol, bool> which)
    {
        var generated = outcome.Output.SyntaxTrees.Last();
        var net = outcome.Output.GetTypeByMetadataName("App.Net")!;
        var format = new SymbolDisplayFormat(
            memberOptions: SymbolDisplayMemberOptions.IncludeType | SymbolDisplayMemberOptions.IncludeParameters | SymbolDisplayMemberOptions.IncludeModifiers
                | SymbolDisplayMemberOptions.IncludeRef | SymbolDisplayMemberOptions.IncludeContainingType,
            parameterOptions: SymbolDisplayParameterOptions.IncludeType | SymbolDisplayParameterOptions.IncludeParamsRefOut | SymbolDisplayParameterOptions.IncludeOptionalBrackets,
            genericsOptions: SymbolDisplayGenericsOptions.IncludeTypeParameters,
            typeQualificationStyle: SymbolDisplayTypeQualificationStyle.NameAndContainingTypesAndNamespaces,
            miscellaneousOptions: SymbolDisplayMiscellaneousOptions.UseSpecialTypes);
        return net.GetMembers().Concat(net.GetTypeMembers("State").SelectMany(s => s.GetMembers()))
            .Where(m => !m.IsImplicitlyDeclared && m.Locations.Any(l => l.SourceTree == generated) && which(m))
            .Select(m => m.ToDisplayString(format))
            .ToList();
    }

    private static bool Public(ISymbol m) => m.DeclaredAccessibility == Accessibility.Public && m.Kind != SymbolKind.NamedType
        || (m is INamedTypeSymbol { Name: "State" });

    [Theory]
    [MemberData(nameof(Models))]
    public void The_clash_check_names_exactly_the_members_the_generated_class_declares(string spec, bool training)
    {
        var outcome = Generate(spec, training);
        Assert.Empty(GeneratorHarness.BuildDiagnostics(outcome));
        var net = outcome.Output.GetTypeByMetadataName("App.Net")!;
        var generated = outcome.Output.SyntaxTrees.Last();
        var declared = net.GetMembers()
            .Where(m => !m.IsImplicitlyDeclared && m.Locations.Any(l => l.SourceTree == generated))
            .Where(m => m is not IMethodSymbol { MethodKind: MethodKind.Constructor or MethodKind.ExplicitInterfaceImplementation or MethodKind.PropertyGet or MethodKind.PropertySet })
            .Where(m => m is not IPropertySymbol { ExplicitInterfaceImplementations.Length: > 0 })
            .Select(m => m.Name)
            .Distinct()
            .OrderBy(n => n, StringComparer.Ordinal);
        var parsed = ParsedSpec(outcome);
        Assert.Equal(declared, Embedded.Rnn.Generator.Emit.GeneratedMembers.Of(parsed).Distinct().OrderBy(n => n, StringComparer.Ordinal));
    }

    // The spec as the generator's parser made it (the Models step's output).
    private static ModelSpec ParsedSpec(GeneratorHarness.Outcome outcome) =>
        outcome.Result.TrackedSteps["Models"].SelectMany(s => s.Outputs).Select(o => ((ModelResult)o.Value).Spec).Single()!;

    [Theory]
    [MemberData(nameof(Models))]
    public void The_stand_ins_offer_every_public_member_of_the_model_with_its_signature(string spec, bool training)
    {
        var real = GeneratedMembers(Generate(spec, training), Public);
        var broken = GeneratorHarness.Run(training, Model, ("models/net.rnn.json", spec.Replace("\"cell\": \"", "\"cell\": \"x")));
        Assert.Equal("ERNN003", Assert.Single(GeneratorHarness.BuildDiagnostics(broken)).Id);
        var stubs = GeneratedMembers(broken, Public);
        Assert.Empty(real.Except(stubs));
    }

    [Theory]
    [InlineData(false, "")]
    [InlineData(true, ", \"target\": \"nanoFramework\"")]
    public void The_stand_ins_declare_the_names_the_clash_check_uses_for_them(bool nano, string field)
    {
        var target = nano ? TargetRuntime.NanoFramework : TargetRuntime.Dotnet;
        var broken = GeneratorHarness.Run(Model, ("models/net.rnn.json", "{\"cell\": \"xlstm\", \"input\": 1, \"hidden\": 8" + field + "}"));
        var net = broken.Output.GetTypeByMetadataName("App.Net")!;
        var declared = net.GetMembers()
            .Where(m => m.DeclaredAccessibility == Accessibility.Public && !m.IsImplicitlyDeclared && m is not IMethodSymbol { MethodKind: MethodKind.Constructor or MethodKind.PropertyGet })
            .Select(m => m.Name).Distinct().OrderBy(n => n, StringComparer.Ordinal);
        Assert.Equal(declared, StubEmitter.Names(target).OrderBy(n => n, StringComparer.Ordinal));
    }

    [Fact]
    public void An_unrelated_edit_leaves_the_stand_ins_cached()
    {
        var specs = new[] { ("models/net.rnn.json", "{\"cell\": \"lstmm\", \"input\": 4, \"hidden\": 8}") };
        var compilation = GeneratorHarness.Compilation(Model, "namespace App; public class Other { }");
        var first = GeneratorHarness.Run(GeneratorHarness.Driver(specs), compilation);
        var edited = compilation.ReplaceSyntaxTree(
            compilation.SyntaxTrees.Last(),
            CSharpSyntaxTree.ParseText("namespace App; public class Other { public int Added; }", (CSharpParseOptions)compilation.SyntaxTrees.First().Options, compilation.SyntaxTrees.Last().FilePath));
        var second = GeneratorHarness.Run(first.Driver, edited);
        foreach (string step in new[] { "ModelTargets", "BuildOptions", "Models", "Stubs", "Diagnostics" })
        {
            var outputs = second.Result.TrackedSteps[step].SelectMany(s => s.Outputs).ToList();
            Assert.NotEmpty(outputs);
            Assert.All(outputs, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{step}: {o.Reason}"));
        }
    }
}
