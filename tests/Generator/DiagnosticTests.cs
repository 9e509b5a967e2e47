using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace Embedded.Rnn.Tests.Generator;

/// <summary>One test per diagnostic id: the id, the severity, and the exact span it points at.</summary>
public sealed class DiagnosticTests
{
    private const string Model = """
        using Embedded.Rnn;
        namespace App;
        [RnnModel("models/net.rnn.json")]
        public partial class Net { }
        """;

    private static Diagnostic Single(GeneratorHarness.Outcome outcome, string id)
    {
        var matching = outcome.Diagnostics.Where(d => d.Id == id).ToList();
        Assert.True(matching.Count == 1, $"expected one {id}, got: {string.Join("; ", outcome.Diagnostics)}");
        return matching[0];
    }

    /// <summary>Asserts the diagnostic sits in the spec file at the first occurrence of <paramref name="token"/>.</summary>
    private static void AtSpec(Diagnostic d, string spec, string token)
    {
        int index = spec.IndexOf(token, StringComparison.Ordinal);
        Assert.True(index >= 0);
        var span = d.Location.GetLineSpan();
        Assert.Equal($"{GeneratorHarness.ProjectDirectory}/models/net.rnn.json", span.Path);
        int line = spec[..index].Count(c => c == '\n');
        int column = index - (spec.LastIndexOf('\n', Math.Max(0, index - 1)) + 1);
        if (index == 0)
        {
            column = 0;
        }

        Assert.Equal((line, column), (span.StartLinePosition.Line, span.StartLinePosition.Character));
        Assert.Equal(index, d.Location.SourceSpan.Start);
    }

    private static GeneratorHarness.Outcome RunSpec(string spec) => GeneratorHarness.Run(Model, ("models/net.rnn.json", spec));

    // A class that cannot take members (not partial, a record, nested...) gets nothing generated.
    private static void NothingGenerated(GeneratorHarness.Outcome outcome) => Assert.Empty(outcome.Result.GeneratedSources);

    // A spec error: no model, only the class's stand-ins (StubEmitter), which compile with the user code cleanly.
    private static void OnlyStandIns(GeneratorHarness.Outcome outcome)
    {
        string code = Assert.Single(outcome.Result.GeneratedSources).SourceText.ToString();
        Assert.Contains("stand-ins", code);
        Assert.DoesNotContain("Embedded.Rnn.Generated", code);
        Assert.Empty(outcome.Output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
    }

    private static readonly Dictionary<string, string> DefaultSpecItems = new()
    {
        ["build_property.EmbeddedRnnDefaultSpecItems"] = "true",
        ["build_property.MSBuildProjectDirectory"] = GeneratorHarness.ProjectDirectory,
    };

    [Fact]
    public void ERNN001_spec_file_not_found_points_at_the_attribute_argument()
    {
        var outcome = GeneratorHarness.Run(Model);
        var d = Single(outcome, "ERNN001");
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        Assert.Equal("\"models/net.rnn.json\"", Model.Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length));
        // Without the package's default items the file may exist and only lack an item: the advice claims neither.
        Assert.Equal("Spec file 'models/net.rnn.json' matches no AdditionalFiles item: check the path, or add the file as <AdditionalFiles Include=\"models/net.rnn.json\" />", d.GetMessage());
        OnlyStandIns(outcome);
    }

    // With the package's build rules every *.rnn.json in the project is an AdditionalFiles item: a path inside the project
    // that matches none names a file that does not exist, and the message says so, with the path it resolved to.
    [Theory]
    [InlineData("Source0.cs", "models/net.rnn.json", "there is no 'models/net.rnn.json' in the project ('/project')")]
    [InlineData("src/Program.cs", "models/net.rnn.json", "there is no 'src/models/net.rnn.json' or 'models/net.rnn.json' in the project ('/project')")]
    [InlineData("src/Program.cs", "../models/net.rnn.json", "there is no 'models/net.rnn.json' in the project ('/project')")]
    public void ERNN001_says_the_spec_does_not_exist_when_every_spec_in_the_project_is_an_additional_file(string sourcePath, string specPath, string message)
    {
        string source = Model.Replace("models/net.rnn.json", specPath);
        var compilation = GeneratorHarness.Compilation().AddSyntaxTrees(
            CSharpSyntaxTree.ParseText(source, CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Preview), path: $"{GeneratorHarness.ProjectDirectory}/{sourcePath}"));
        var outcome = GeneratorHarness.Run(GeneratorHarness.Driver(DefaultSpecItems, ("models/other.rnn.json", "{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8}")), compilation);
        var d = Single(outcome, "ERNN001");
        Assert.Equal($"\"{specPath}\"", source.Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length));
        Assert.StartsWith($"Spec file '{specPath}' does not exist: every *.rnn.json in the project is an AdditionalFiles item, and ", d.GetMessage());
        Assert.EndsWith(message + "; create the file or correct the path", d.GetMessage());
        Assert.DoesNotContain("<AdditionalFiles", d.GetMessage());
        OnlyStandIns(outcome);
    }

    // Outside the project, or not a *.rnn.json, the default items would not have picked the file up: the AdditionalFiles advice.
    [Theory]
    [InlineData("../../shared/net.rnn.json")]
    [InlineData("/elsewhere/net.rnn.json")]
    [InlineData("models/net.json")]
    public void ERNN001_keeps_the_additional_files_advice_for_a_path_the_default_items_do_not_cover(string specPath)
    {
        var outcome = GeneratorHarness.Run(GeneratorHarness.Driver(DefaultSpecItems), GeneratorHarness.Compilation(Model.Replace("models/net.rnn.json", specPath)));
        Assert.Equal($"Spec file '{specPath}' matches no AdditionalFiles item: check the path, or add the file as <AdditionalFiles Include=\"{specPath}\" />", Single(outcome, "ERNN001").GetMessage());
    }

    [Fact]
    public void ERNN002_malformed_json_points_at_the_fault()
    {
        const string spec = "{\n  \"cell\": \"lstm\",\n  \"input\": 4,,\n  \"hidden\": 8\n}";
        var d = Single(RunSpec(spec), "ERNN002");
        AtSpec(d, spec, ",\n  \"hidden\""); // the second comma of ",,"
        Assert.Equal((2, 13), (d.Location.GetLineSpan().StartLinePosition.Line, d.Location.GetLineSpan().StartLinePosition.Character));
    }

    [Theory]
    [InlineData("{\"cell\": \"lstm\", \"input\": 4, \"input\": 5, \"hidden\": 8}", "duplicate property 'input'")]
    [InlineData("{\"cell\": \"lstm\", \"input\": 4, \"hidden\": 8", "unexpected end of file")]
    [InlineData("[1, 2]", "the spec must be a JSON object")]
    [InlineData("", "unexpected end of file")]
    [InlineData("{\"cell\": 'lstm'}", "unexpected character")]
    [InlineData("{\"cell\": \"lstm\"} trailing", "unexpected content after the top-level value")]
    public void ERNN002_reports_what_is_wrong(string spec, string message)
    {
        var outcome = RunSpec(spec);
        Assert.Contains(message, Single(outcome, "ERNN002").GetMessage());
        OnlyStandIns(outcome);
    }

    [Fact]
    public void ERNN003_unknown_cell()
    {
        const string spec = "{\"cell\": \"lstmm\", \"input\": 4, \"hidden\": 8}";
        var outcome = RunSpec(spec);
        var d = Single(outcome, "ERNN003");
        AtSpec(d, spec, "\"lstmm\"");
        Assert.Contains("use \"rnn\", \"lstm\" or \"gru\"", d.GetMessage());
        OnlyStandIns(outcome);
    }

    [Theory]
    [InlineData("{\"cell\": \"rnn\", \"activation\": \"sigmoid\", \"input\": 4, \"hidden\": 8}", "\"sigmoid\"", "rnn activation")]
    [InlineData("{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8, \"head\": {\"output\": 2, \"activation\": \"relu\"}}", "\"relu\"", "head activation")]
    public void ERNN004_unknown_activation(string spec, string token, string what)
    {
        var d = Single(RunSpec(spec), "ERNN004");
        AtSpec(d, spec, token);
        Assert.Contains(what, d.GetMessage());
    }

    [Theory]
    [InlineData("{\"input\": 4, \"hidden\": 8}", "cell")]
    [InlineData("{\"cell\": \"gru\", \"hidden\": 8}", "input")]
    [InlineData("{\"cell\": \"gru\", \"input\": 8}", "hidden")]
    public void ERNN005_missing_field_points_at_the_object(string spec, string field)
    {
        var d = Single(RunSpec(spec), "ERNN005");
        AtSpec(d, spec, "{");
        Assert.Contains($"The spec has no '{field}'", d.GetMessage());
    }

    [Fact]
    public void ERNN005_missing_head_output_points_at_the_head_object()
    {
        const string spec = "{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8, \"head\": {\"activation\": \"softmax\"}}";
        AtSpec(Single(RunSpec(spec), "ERNN005"), spec, "{\"activation\"");
    }

    [Theory]
    [InlineData("{\"cell\": \"gru\", \"input\": 4, \"hidden\": 0}", "0", "'hidden' must be a positive integer")]
    [InlineData("{\"cell\": \"gru\", \"input\": -3, \"hidden\": 8}", "-3", "'input' must be a positive integer")]
    [InlineData("{\"cell\": \"gru\", \"input\": 2.5, \"hidden\": 8}", "2.5", "'input' must be a positive integer")]
    [InlineData("{\"cell\": \"gru\", \"input\": \"4\", \"hidden\": 8}", "\"4\"", "'input' must be a positive integer")]
    [InlineData("{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8, \"bias\": \"yes\"}", "\"yes\"", "'bias' must be true or false")]
    [InlineData("{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8, \"layers\": 0}", "0}", "'layers' must be a positive integer")]
    [InlineData("{\"cell\": \"rnn\", \"activation\": \"leaky_relu\", \"negative_slope\": -1, \"input\": 4, \"hidden\": 8}", "-1", "'negative_slope' must be a finite number >= 0")]
    [InlineData("{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8, \"head\": 3}", "3}", "'head' must be an object")]
    [InlineData("{\"cell\": \"gru\", \"reset\": \"middle\", \"input\": 4, \"hidden\": 8}", "\"middle\"", "'reset' must be")]
    [InlineData("{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8, \"precision\": \"fp16\"}", "\"fp16\"", "'precision' must be \"f32\" (default), \"bf16\" or \"int8\"")]
    [InlineData("{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8, \"precision\": 8}", "8}", "'precision' must be \"f32\" (default), \"bf16\" or \"int8\"")]
    [InlineData("{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8, \"target\": \"nanoFramework\", \"precision\": \"fp16\"}", "\"fp16\"", "'precision' must be \"f32\" (default), \"bf16\" or \"int8\"")]
    public void ERNN006_invalid_value(string spec, string token, string message)
    {
        var outcome = RunSpec(spec);
        var d = Single(outcome, "ERNN006");
        AtSpec(d, spec, token);
        Assert.Contains(message, d.GetMessage());
        OnlyStandIns(outcome);
    }

    [Theory]
    [InlineData("{\"cell\": \"lstm\", \"input\": 4, \"hidden\": 5000}", "5000", "'hidden' is 5000, above the limit of 1024")]
    [InlineData("{\"cell\": \"lstm\", \"input\": 100000, \"hidden\": 8}", "100000", "'input' is 100000, above the limit of 4096")]
    [InlineData("{\"cell\": \"lstm\", \"input\": 4, \"hidden\": 8, \"layers\": 9}", "9", "'layers' is 9, above the limit of 8")]
    [InlineData("{\"cell\": \"lstm\", \"input\": 4, \"hidden\": 8, \"head\": {\"output\": 99999999999}}", "99999999999", "'output' is 99999999999")]
    public void ERNN007_size_too_large(string spec, string token, string message)
    {
        var d = Single(RunSpec(spec), "ERNN007");
        AtSpec(d, spec, token);
        Assert.Contains(message, d.GetMessage());
    }

    [Fact]
    public void ERNN008_unknown_field_is_a_warning_and_the_model_is_still_generated()
    {
        const string spec = "{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8, \"dropout\": 0.1, \"head\": {\"output\": 2, \"units\": 3}}";
        var outcome = RunSpec(spec);
        var warnings = outcome.Diagnostics.Where(d => d.Id == "ERNN008").ToList();
        Assert.Equal(2, warnings.Count);
        Assert.All(warnings, d => Assert.Equal(DiagnosticSeverity.Warning, d.Severity));
        AtSpec(warnings[0], spec, "\"dropout\"");
        AtSpec(warnings[1], spec, "\"units\"");
        Assert.Single(outcome.Result.GeneratedSources);
        Assert.Empty(outcome.Output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
    }

    [Fact]
    public void ERNN009_class_not_partial()
    {
        const string source = "using Embedded.Rnn;\n[RnnModel(\"models/net.rnn.json\")]\npublic class Net { }";
        var outcome = GeneratorHarness.Run(source, ("models/net.rnn.json", "{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8}"));
        var d = Single(outcome, "ERNN009");
        Assert.Equal("Net", source.Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length));
        Assert.Equal(2, d.Location.GetLineSpan().StartLinePosition.Line);
        NothingGenerated(outcome);
    }

    [Fact]
    public void ERNN010_two_models_on_one_class()
    {
        const string source = """
            using Embedded.Rnn;
            [RnnModel("models/net.rnn.json")]
            public partial class Net { }
            [RnnModel("models/other.rnn.json")]
            public partial class Net { }
            """;
        var outcome = GeneratorHarness.Run(source,
            ("models/net.rnn.json", "{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8}"),
            ("models/other.rnn.json", "{\"cell\": \"lstm\", \"input\": 4, \"hidden\": 8}"));
        var d = Single(outcome, "ERNN010");
        Assert.Equal(2, d.Location.GetLineSpan().StartLinePosition.Line);
        NothingGenerated(outcome);
    }

    [Theory]
    [InlineData("{\"cell\": \"lstm\", \"activation\": \"relu\", \"input\": 4, \"hidden\": 8}", "\"relu\"", "'activation' applies only to \"rnn\" cells")]
    [InlineData("{\"cell\": \"rnn\", \"activation\": \"tanh\", \"negative_slope\": 0.1, \"input\": 4, \"hidden\": 8}", "0.1", "'negative_slope' applies only to \"rnn\" cells with \"leaky_relu\"")]
    [InlineData("{\"cell\": \"lstm\", \"reset\": \"before\", \"input\": 4, \"hidden\": 8}", "\"before\"", "'reset' applies only to \"gru\" cells")]
    public void ERNN011_field_not_applicable(string spec, string token, string message)
    {
        var d = Single(RunSpec(spec), "ERNN011");
        AtSpec(d, spec, token);
        Assert.Contains(message, d.GetMessage());
    }

    [Theory]
    [InlineData("public partial class Outer { [RnnModel(\"models/net.rnn.json\")] public partial class Net { } }")]
    [InlineData("[RnnModel(\"models/net.rnn.json\")] public partial class Net<T> { }")]
    [InlineData("[RnnModel(\"models/net.rnn.json\")] public static partial class Net { }")]
    [InlineData("[RnnModel(\"models/net.rnn.json\")] public abstract partial class Net { }")]
    [InlineData("[RnnModel(\"models/net.rnn.json\")] file partial class Net { }")] // the generated part went to another class
    [InlineData("[RnnModel(\"models/net.rnn.json\")] public partial class Net(int size) { }")] // its constructor could not chain
    public void ERNN012_unsupported_class(string declaration)
    {
        string source = "using Embedded.Rnn;\n" + declaration;
        var outcome = GeneratorHarness.Run(source, ("models/net.rnn.json", "{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8}"));
        var d = Single(outcome, "ERNN012");
        Assert.Equal("Net", source.Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length));
        NothingGenerated(outcome);
    }

    [Fact]
    public void ERNN012_a_class_named_with_a_keyword()
    {
        // partial class @class: the generated part said "partial class class", and 167 syntax errors followed.
        const string source = "using Embedded.Rnn;\n[RnnModel(\"models/net.rnn.json\")] public partial class @class { }";
        var outcome = GeneratorHarness.Run(source, ("models/net.rnn.json", "{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8}"));
        var d = Single(outcome, "ERNN012");
        Assert.Equal("@class", source.Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length));
        NothingGenerated(outcome);
        Assert.DoesNotContain(GeneratorHarness.BuildDiagnostics(outcome), b => b.Id.StartsWith("CS", StringComparison.Ordinal));
    }

    [Fact]
    public void A_namespace_with_an_escaped_keyword_generates_a_model_that_compiles()
    {
        // The '@' went into the generated file's name, which Roslyn refused (CS8785): every model of the project was lost.
        const string source = "using Embedded.Rnn;\nnamespace @event.App;\n[RnnModel(\"models/net.rnn.json\")] public partial class Net { }";
        var outcome = GeneratorHarness.Run(source, ("models/net.rnn.json", "{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8}"));
        Assert.Equal(["event.App.Net.Rnn.g.cs"], outcome.Result.GeneratedSources.Select(g => g.HintName));
        Assert.Empty(GeneratorHarness.BuildDiagnostics(outcome));
    }

    [Theory]
    [InlineData("public partial class NET { }")]
    [InlineData("namespace app { [RnnModel(\"models/net.rnn.json\")] public partial class Net { } }")]
    public void ERNN020_model_names_that_differ_only_in_case(string other)
    {
        // Both took one generated file's name, and the generator's exception dropped every model of the project.
        string source = "using Embedded.Rnn;\nnamespace App { [RnnModel(\"models/net.rnn.json\")] public partial class Net { } }\n"
            + (other.StartsWith("namespace", StringComparison.Ordinal) ? other : "namespace App { [RnnModel(\"models/net.rnn.json\")] " + other + " }");
        var outcome = GeneratorHarness.Run(source, ("models/net.rnn.json", "{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8}"));
        var d = Single(outcome, "ERNN020");
        Assert.Contains("differs from another model class only in case", d.GetMessage(), StringComparison.Ordinal);
        Assert.Equal(other.StartsWith("namespace", StringComparison.Ordinal) ? "App.Net.Rnn.g.cs" : "App.NET.Rnn.g.cs",
            Assert.Single(outcome.Result.GeneratedSources).HintName); // the one first in ordinal order is generated
    }

    [Theory]
    [InlineData("namespace App { public class NetKernels { } }", "ERNN018")] // a type beside the model
    [InlineData("public class NetKernels { }", "ERNN018")] // in the global namespace: CS0576 against the alias
    [InlineData("namespace App { public partial class Net { public int NetKernels; } }", "ERNN017")] // a member of the model
    public void ERNN018_and_ERNN017_the_kernels_name_taken_by_a_type_or_member(string other, string id)
    {
        // The generated part names its kernels NetKernels through an alias, which either hid: CS0117 / CS0120 inside it.
        string source = "using Embedded.Rnn;\nnamespace App { [RnnModel(\"models/net.rnn.json\")] public partial class Net { } }\n" + other;
        var outcome = GeneratorHarness.Run(source, ("models/net.rnn.json", "{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8}"));
        var d = Single(outcome, id);
        Assert.Contains("'NetKernels'", d.GetMessage(), StringComparison.Ordinal);
        Assert.DoesNotContain(GeneratorHarness.BuildDiagnostics(outcome), b => b.Id.StartsWith("CS", StringComparison.Ordinal));
    }

    [Fact]
    public void ERNN019_a_dotnet_model_in_a_project_without_the_runtime()
    {
        // A spec without "target" in a project that cannot reference the runtime (nanoFramework declares the attribute
        // itself): 74 compile errors in the generated code instead of one line that says what to do.
        const string attribute = "namespace Embedded.Rnn { [System.AttributeUsage(System.AttributeTargets.Class)] public sealed class RnnModelAttribute : System.Attribute { public RnnModelAttribute(string specPath) { } } }";
        const string model = "namespace App { [Embedded.Rnn.RnnModel(\"models/net.rnn.json\")] public partial class Net { } }";
        var options = CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Preview);
        var compilation = CSharpCompilation.Create("NoRuntime",
            [CSharpSyntaxTree.ParseText(attribute, options, path: "/project/Attribute.cs"), CSharpSyntaxTree.ParseText(model, options, path: "/project/Net.cs")],
            Embedded.Rnn.Hosting.InMemoryReferences.FrameworkAndRuntime.Where(r => !r.Display!.EndsWith("Embedded.Rnn.dll", StringComparison.Ordinal)),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var outcome = GeneratorHarness.Run(GeneratorHarness.Driver(("models/net.rnn.json", "{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8}")), compilation);
        var d = Single(outcome, "ERNN019");
        Assert.Equal("\"models/net.rnn.json\"", model.Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length));
        Assert.Contains("set \"target\": \"nanoFramework\"", d.GetMessage(), StringComparison.Ordinal);
        Assert.DoesNotContain(GeneratorHarness.BuildDiagnostics(outcome), b => b.Id.StartsWith("CS", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("[RnnModel(\"models/net.rnn.json\")] public partial record Net { }")]
    [InlineData("[RnnModel(\"models/net.rnn.json\")] public partial record class Net(int Size) { }")]
    public void ERNN016_record(string declaration)
    {
        string source = "using Embedded.Rnn;\n" + declaration;
        var outcome = GeneratorHarness.Run(source, ("models/net.rnn.json", "{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8}"));
        var d = Single(outcome, "ERNN016");
        Assert.Equal("Net", source.Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length));
        Assert.Contains("declare it 'partial class Net'", d.GetMessage());
        NothingGenerated(outcome);
    }

    [Fact]
    public void ERNN013_ambiguous_spec_path()
    {
        const string source = "using Embedded.Rnn;\n[RnnModel(\"net.rnn.json\")]\npublic partial class Net { }";
        var outcome = GeneratorHarness.Run(source,
            ("a/net.rnn.json", "{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8}"),
            ("b/net.rnn.json", "{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8}"));
        var d = Single(outcome, "ERNN013");
        Assert.Equal("\"net.rnn.json\"", source.Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length));
        Assert.Contains("/project/a/net.rnn.json", d.GetMessage());
    }

    [Fact]
    public void ERNN014_weights_file_not_found()
    {
        const string spec = "{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8, \"weights\": \"../w/net.safetensors.b64\"}";
        var outcome = RunSpec(spec);
        var d = Single(outcome, "ERNN014");
        AtSpec(d, spec, "\"../w/net.safetensors.b64\"");
        Assert.Contains("resolved to '/project/w/net.safetensors.b64'", d.GetMessage());
        OnlyStandIns(outcome);
    }

    [Theory]
    [InlineData("not base64!", "is not base64")]
    [InlineData("AAAA", "shorter than a safetensors header")]
    [InlineData("missing", "tensor 'bias_hh_l0' is missing: expected F32 [24]")]
    [InlineData("shape", "tensor 'weight_ih_l0' has shape [24, 5]; expected [24, 4]")]
    [InlineData("extra", "tensor 'extra' is not a parameter of this model")]
    [InlineData("f64", "tensor 'bias_ih_l0' has dtype F64; expected F32 [24]")]
    [InlineData("offsets", "tensor 'weight_ih_l0' has data_offsets that do not match its shape or lie outside the file")]
    public void ERNN015_weights_that_do_not_fit(string content, string message)
    {
        string weights = content switch
        {
            "missing" => Encode(w => w.Add("weight_ih_l0", new float[96], 24, 4).Add("weight_hh_l0", new float[192], 24, 8).Add("bias_ih_l0", new float[24], 24)),
            "shape" => Encode(w => w.Add("weight_ih_l0", new float[120], 24, 5)),
            "extra" => Encode(w => w.Add("extra", new float[1], 1)),
            "f64" => Encode(w => w.Add("weight_ih_l0", new float[96], 24, 4).Add("weight_hh_l0", new float[192], 24, 8).Add("bias_ih_l0", new double[24], 24)),
            // 384 bytes at the end of the long range: the end plus the data's start overflowed past the bounds check, and
            // the baker read the header's own bytes as weights (or threw, killing the generator).
            "offsets" => Convert.ToBase64String(WithOffsets(
                new Safetensors.SafetensorsWriter().Add("weight_ih_l0", new float[96], 24, 4).Add("weight_hh_l0", new float[192], 24, 8).Add("bias_ih_l0", new float[24], 24).Add("bias_hh_l0", new float[24], 24).ToArray(),
                "weight_ih_l0", $"[{long.MaxValue - 384},{long.MaxValue}]")),
            _ => content,
        };
        const string spec = "{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8, \"weights\": \"net.b64\"}";
        var outcome = GeneratorHarness.Run(Model, ("models/net.rnn.json", spec), ("models/net.b64", weights));
        var d = Single(outcome, "ERNN015");
        AtSpec(d, spec, "\"net.b64\"");
        Assert.Contains(message, d.GetMessage());
        OnlyStandIns(outcome);
    }

    // A member of the user's part named like a generated one would be CS0102/CS0111 inside the generated file: instead the
    // one error is ERNN017 at the user's member, and the class gets only the stand-ins, less the user's name.
    [Theory]
    [InlineData("public const int HiddenSize = 3;", "HiddenSize", false)]
    [InlineData("public class State { }", "State", false)]
    [InlineData("public void Step() { }", "Step", false)]
    [InlineData("public int Path { get; set; }", "Path", true)]
    public void ERNN017_member_named_like_a_generated_one_is_reported_at_the_member(string member, string name, bool inAnotherPart)
    {
        string user = $"namespace App;\npublic partial class Net\n{{\n    {member}\n}}\n";
        string model = inAnotherPart ? Model : Model.Replace("public partial class Net { }", user["namespace App;\n".Length..]);
        var sources = inAnotherPart ? new[] { model, user } : new[] { model };
        var outcome = GeneratorHarness.Run(GeneratorHarness.Driver(("models/net.rnn.json", "{\"cell\": \"lstm\", \"input\": 4, \"hidden\": 8}")), GeneratorHarness.Compilation(sources));
        var d = Assert.Single(GeneratorHarness.BuildDiagnostics(outcome));
        Assert.Equal("ERNN017", d.Id);
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        string file = sources[^1];
        Assert.Equal($"{GeneratorHarness.ProjectDirectory}/Source{sources.Length - 1}.cs", d.Location.GetLineSpan().Path);
        Assert.Equal(name, file.Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length));
        Assert.Equal(file.IndexOf(member, StringComparison.Ordinal) + member.IndexOf(" " + name, StringComparison.Ordinal) + 1, d.Location.SourceSpan.Start);
        Assert.Equal($"'{name}' is a member the generator defines in 'Net' (the model's generated part declares it); rename yours", d.GetMessage());
        OnlyStandIns(outcome);
    }

    [Fact]
    public void ERNN017_overloads_and_explicit_implementations_of_other_names_are_not_clashes()
    {
        const string source = """
            using Embedded.Rnn;
            namespace App;
            [RnnModel("models/net.rnn.json")]
            public partial class Net : System.IDisposable
            {
                public Net(int unused) : this(new float[][] { }, null) { }
                void System.IDisposable.Dispose() { }
                public float[] Predict(float[] x) => x;
            }
            """;
        var outcome = GeneratorHarness.Run(source, ("models/net.rnn.json", "{\"cell\": \"lstm\", \"input\": 4, \"hidden\": 8}"));
        Assert.Empty(GeneratorHarness.BuildDiagnostics(outcome));
        Assert.Contains("HiddenSize = 8", outcome.Source("App.Net.Rnn.g.cs"));
    }

    [Fact]
    public void Baked_weights_are_emitted_as_read_only_data()
    {
        string weights = Encode(w => w.Add("weight_ih_l0", Enumerable.Range(0, 24).Select(i => i * 0.5f).ToArray(), 24, 1)
            .Add("weight_hh_l0", new float[192], 24, 8).Add("bias_ih_l0", new float[24], 24).Add("bias_hh_l0", new float[24], 24));
        var outcome = GeneratorHarness.Run(Model, ("models/net.rnn.json", "{\"cell\": \"gru\", \"input\": 1, \"hidden\": 8, \"weights\": \"net.b64\"}"), ("models/net.b64", weights));
        Assert.Empty(outcome.Diagnostics);
        string code = outcome.Source("App.Net.Rnn.g.cs");
        Assert.Contains("public static Net FromBakedWeights(", code);
        Assert.Contains("private static ReadOnlySpan<float> Baked0 => new float[] { 0f, 0.5f, 1f, 1.5f,", code);
        Assert.Empty(outcome.Output.GetDiagnostics().Where(x => x.Severity >= DiagnosticSeverity.Warning));
    }

    // A bf16 or int8 model's weight matrices are baked in their stored type (2 or 1 bytes per weight in the binary), rounded
    // by the rules the runtime packs with; the biases stay float32.
    [Theory]
    [InlineData("bf16", "private static ReadOnlySpan<ushort> Baked0 => new ushort[] { 0x0000, 0x3F00, 0x3F80, 0x3FC0, 0x4000, 0x4020,", "WeightQuantization.FromBFloat16(Baked0)")]
    [InlineData("int8", "private static ReadOnlySpan<sbyte> Baked0 => new sbyte[] { 0, 127, 127, 127,", "WeightQuantization.FromInt8(Baked0, Baked0Scales)")]
    public void Baked_weights_of_a_narrow_precision_are_emitted_in_their_stored_type(string precision, string data, string load)
    {
        // weight_ih_l0 is [24, 1]: one weight per row, so every nonzero int8 row is ±127 with scale |w|.
        string weights = Encode(w => w.Add("weight_ih_l0", Enumerable.Range(0, 24).Select(i => i * 0.5f).ToArray(), 24, 1)
            .Add("weight_hh_l0", Enumerable.Range(0, 192).Select(i => (i % 8 - 3.5f) / 7f).ToArray(), 24, 8).Add("bias_ih_l0", new float[24], 24).Add("bias_hh_l0", new float[24], 24));
        var outcome = GeneratorHarness.Run(Model, ("models/net.rnn.json", $"{{\"cell\": \"gru\", \"input\": 1, \"hidden\": 8, \"precision\": \"{precision}\", \"weights\": \"net.b64\"}}"), ("models/net.b64", weights));
        Assert.Empty(outcome.Diagnostics);
        string code = outcome.Source("App.Net.Rnn.g.cs");
        Assert.Contains(data, code);
        Assert.Contains(load, code);
        Assert.Contains("private static ReadOnlySpan<float> Baked2 => new float[] { 0f,", code); // bias_ih_l0 stays float32
        Assert.DoesNotContain("ReadOnlySpan<float> Baked1 =>", code);
        if (precision == "int8")
        {
            // Row r of weight_hh_l0 is (j - 3.5) / 7 for j = 0..7: largest 0.5, so scale 0.5 / 127 and integers ±127, ±91, ±54, ±18.
            Assert.Contains("private static ReadOnlySpan<sbyte> Baked1 => new sbyte[] { -127, -91, -54, -18, 18, 54, 91, 127,", code);
            Assert.Contains($"private static ReadOnlySpan<float> Baked1Scales => new float[] {{ {(0.5f / 127).ToString("R", System.Globalization.CultureInfo.InvariantCulture)}f,", code);
        }

        Assert.Empty(outcome.Output.GetDiagnostics().Where(x => x.Severity >= DiagnosticSeverity.Warning));
    }

    [Theory]
    [InlineData("")]
    [InlineData(", \"target\": \"nanoFramework\"")]
    public void ERNN015_an_int8_model_refuses_a_non_finite_baked_weight(string target)
    {
        var hh = new float[192];
        hh[29] = float.NaN;
        string weights = Encode(w => w.Add("weight_ih_l0", new float[24], 24, 1).Add("weight_hh_l0", hh, 24, 8).Add("bias_ih_l0", new float[24], 24).Add("bias_hh_l0", new float[24], 24));
        string spec = "{\"cell\": \"gru\", \"input\": 1, \"hidden\": 8, \"precision\": \"int8\", \"weights\": \"net.b64\"" + target + "}";
        var outcome = GeneratorHarness.Run(Model, ("models/net.rnn.json", spec), ("models/net.b64", weights));
        var d = Single(outcome, "ERNN015");
        AtSpec(d, spec, "\"net.b64\"");
        Assert.Contains("tensor 'weight_hh_l0' has NaN at index 29; an int8 model's weight matrices must be finite", d.GetMessage());
        OnlyStandIns(outcome);
    }

    private static string Encode(Func<Safetensors.SafetensorsWriter, Safetensors.SafetensorsWriter> build) =>
        Convert.ToBase64String(build(new Safetensors.SafetensorsWriter()).ToArray());

    // A safetensors file with one tensor's data_offsets replaced (the header re-padded to a multiple of 8).
    private static byte[] WithOffsets(byte[] file, string tensor, string offsets)
    {
        int length = (int)BitConverter.ToUInt64(file, 0);
        string header = System.Text.Encoding.UTF8.GetString(file, 8, length).TrimEnd();
        int at = header.IndexOf("\"data_offsets\":", header.IndexOf($"\"{tensor}\"", StringComparison.Ordinal), StringComparison.Ordinal) + "\"data_offsets\":".Length;
        header = header[..at] + offsets + header[(header.IndexOf(']', at) + 1)..];
        header = header.PadRight((header.Length + 7) / 8 * 8);
        return [.. BitConverter.GetBytes((ulong)header.Length), .. System.Text.Encoding.UTF8.GetBytes(header), .. file.AsSpan(8 + length)];
    }

    [Theory]
    [InlineData("../net.rnn.json", "sub/net.rnn.json", false)] // bound silently to a file below, not above
    [InlineData("../net.rnn.json", "../net.rnn.json", true)] // the file above the source's folder
    [InlineData(".models/net.rnn.json", ".models/net.rnn.json", true)] // a folder whose name starts with '.': ERNN001 before
    [InlineData("./models/net.rnn.json", "models/net.rnn.json", true)]
    [InlineData("/project/models/net.rnn.json", "models/net.rnn.json", true)]
    [InlineData("/elsewhere/models/net.rnn.json", "models/net.rnn.json", false)] // a rooted path is one file, not a suffix
    public void ERNN001_or_a_match_for_paths_that_climb_start_with_a_dot_or_are_rooted(string attributePath, string file, bool found)
    {
        string source = $"using Embedded.Rnn;\n[RnnModel(\"{attributePath}\")]\npublic partial class Net {{ }}";
        var outcome = GeneratorHarness.Run(source, (file, "{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8}"));
        if (found)
        {
            Assert.Empty(outcome.Diagnostics);
            Assert.Contains("CellKind = \"gru\"", outcome.Source("Net.Rnn.g.cs"));
        }
        else
        {
            Single(outcome, "ERNN001");
        }
    }

    [Theory]
    [InlineData("/project/w/net.b64", null)] // was resolved under the spec's folder: /project/models/project/w/net.b64
    [InlineData("../../../../w/net.b64", "/w/net.b64")] // climbed past the root, to w/net.b64 relative to nothing
    public void ERNN014_or_a_match_for_weights_paths_that_are_rooted_or_climb_past_the_root(string weightsPath, string? resolved)
    {
        string spec = $"{{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8, \"weights\": \"{weightsPath}\"}}";
        string weights = Encode(w => w.Add("weight_ih_l0", new float[96], 24, 4).Add("weight_hh_l0", new float[192], 24, 8).Add("bias_ih_l0", new float[24], 24).Add("bias_hh_l0", new float[24], 24));
        var outcome = GeneratorHarness.Run(Model, ("models/net.rnn.json", spec), ("w/net.b64", weights));
        if (resolved is null)
        {
            Assert.Empty(outcome.Diagnostics);
        }
        else
        {
            Assert.Contains($"(resolved to '{resolved}')", Single(outcome, "ERNN014").GetMessage(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_spec_beside_the_source_file_wins_over_a_same_named_one_elsewhere()
    {
        const string source = "using Embedded.Rnn;\n[RnnModel(\"net.rnn.json\")]\npublic partial class Net { }";
        var outcome = GeneratorHarness.Run(source,
            ("net.rnn.json", "{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8}"),
            ("b/net.rnn.json", "{\"cell\": \"lstm\", \"input\": 4, \"hidden\": 8}"));
        Assert.Empty(outcome.Diagnostics);
        Assert.Contains("CellKind = \"gru\"", outcome.Source("Net.Rnn.g.cs"));
    }

    [Fact]
    public void Every_descriptor_has_a_test_and_a_catalogue_entry()
    {
        var ids = Embedded.Rnn.Generator.Diagnostics.DiagnosticDescriptors.All.Select(d => d.Id).ToList();
        var tested = typeof(DiagnosticTests).GetMethods().Select(m => m.Name[..Math.Min(7, m.Name.Length)]).ToHashSet();
        string catalogue = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "docs", "diagnostics.md"));
        foreach (string id in ids)
        {
            Assert.Contains(id, tested);
            Assert.Contains($"## {id}", catalogue);
        }

        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Theory]
    [InlineData("\0\0\0")]
    [InlineData("{\"cell\": {\"cell\": {\"cell\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}}")]
    [InlineData("{\"cell\": \"gru\", \"input\": 1e400, \"hidden\": 8}")]
    [InlineData("{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8, \"head\": {\"output\": 1, \"activation\": null}}")]
    [InlineData("{\"cell\": \"\\u12\"}")]
    [InlineData("\uFEFF{\"cell\": \"gru\", \"input\": 4, \"hidden\": 8, \"head\": null}")]
    public void Garbage_specs_give_diagnostics_not_exceptions(string spec)
    {
        var outcome = RunSpec(spec); // the harness asserts the generator did not throw
        Assert.True(outcome.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error) || outcome.Result.GeneratedSources.Length == 1);
    }
}
