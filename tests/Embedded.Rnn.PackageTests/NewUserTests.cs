using System.Globalization;
using System.IO.Compression;
using Xunit;

namespace Embedded.Rnn.PackageTests;

/// <summary>
/// A new user's path through the packed package: the README's quick start in a fresh console project, built
/// and run against PyTorch's output; a broken spec reported by dotnet build at its line and column.
/// The tests of this class share one packed feed and project and run one after another (xunit runs a class's
/// tests sequentially); each leaves the project as it found it.
/// </summary>
public sealed class NewUserTests(PackagedConsumer consumer) : IClassFixture<PackagedConsumer>
{
    private const double Bound = 1e-5; // tests/refs/README.md: |got − ref| ≤ 1e-5 · max(1, |ref|)

    [Fact]
    public void PackageHoldsTheRuntimeTheGeneratorAsAnAnalyzerAndTheBuildRules()
    {
        Assert.True(consumer.Pack.ExitCode == 0, consumer.SetupLog);
        Assert.DoesNotContain("warning", consumer.Pack.Output, StringComparison.OrdinalIgnoreCase);
        using var package = ZipFile.OpenRead(Path.Combine(consumer.Feed, "Embedded.Rnn.0.1.0.nupkg"));
        var entries = package.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("lib/net10.0/Embedded.Rnn.dll", entries);
        Assert.Contains("analyzers/dotnet/cs/Embedded.Rnn.Generator.dll", entries);
        Assert.Contains("build/Embedded.Rnn.targets", entries);
        Assert.Contains("buildTransitive/Embedded.Rnn.targets", entries);
        Assert.Contains("README.md", entries);
        Assert.DoesNotContain(entries, e => e.StartsWith("lib/", StringComparison.Ordinal) && e.EndsWith("Generator.dll", StringComparison.Ordinal));
        string nuspec = new StreamReader(package.GetEntry("Embedded.Rnn.nuspec")!.Open()).ReadToEnd();
        Assert.Contains("<license type=\"expression\">MIT</license>", nuspec);
        Assert.Contains("<readme>README.md</readme>", nuspec);
        Assert.Contains("<repository type=\"git\"", nuspec);
        Assert.DoesNotContain("<dependency ", nuspec); // the generator and Roslyn are not dependencies of users' apps
        using var symbols = ZipFile.OpenRead(Path.Combine(consumer.Feed, "Embedded.Rnn.0.1.0.snupkg"));
        Assert.Contains(symbols.Entries, e => e.FullName == "lib/net10.0/Embedded.Rnn.pdb");
    }

    [Fact]
    public void ReadmeQuickStartBuildsAndRunsLikePyTorch()
    {
        FollowQuickStartToTheWeights();
        var build = consumer.Dotnet("build", "-nologo");
        Assert.True(build.ExitCode == 0, consumer.SetupLog + "\n== dotnet build\n" + build);
        var run = consumer.DotnetWithInput(File.ReadAllText(ProcessRunner.Data("input.csv")), "run", "--no-build");
        Assert.True(run.ExitCode == 0, "== dotnet run\n" + run);
        AssertMatchesPyTorch(run);
        Assert.Equal($"kernel path: {KernelPaths.Best}", run.StandardError.Trim()); // the JIT takes the widest path
    }

    [Fact]
    public void AnOnnxExportOfTheSameModuleImportsIntoAFreshProjectAndRunsLikePyTorch()
    {
        // The quick start with an ONNX file (torch.onnx.export of the same module, Data/make_gesture.py) in place of the
        // state_dict: import checks it against ONNX Runtime and against the user's spec, and writes only the weights.
        FollowQuickStartToTheWeights();
        File.Delete(Path.Combine(consumer.Project, "gesture.safetensors"));
        File.Copy(ProcessRunner.Data("gesture.onnx"), Path.Combine(consumer.Project, "model.onnx"), overwrite: true);
        var imported = ProcessRunner.Run(consumer.Project, "dotnet", [Path.Combine(AppContext.BaseDirectory, "embedded-rnn.dll"), "import", "model.onnx", "--spec", "models/gesture.rnn.json"]);
        Assert.True(imported.ExitCode == 0, "== embedded-rnn import model.onnx\n" + imported);
        Assert.Contains("golden check passed against ONNX Runtime", imported.Output);
        Assert.True(File.Exists(Path.Combine(consumer.Project, "gesture.safetensors")), imported.Output);
        Assert.False(File.Exists(Path.Combine(consumer.Project, "gesture.rnn.json")), "import wrote a second spec:\n" + imported.Output);

        var build = consumer.Dotnet("build", "-nologo");
        Assert.True(build.ExitCode == 0, consumer.SetupLog + "\n== dotnet build\n" + build);
        var run = consumer.DotnetWithInput(File.ReadAllText(ProcessRunner.Data("input.csv")), "run", "--no-build");
        Assert.True(run.ExitCode == 0, "== dotnet run\n" + run);
        AssertMatchesPyTorch(run);
    }

    [Fact]
    public void ReadmeNativeAotPublishRunsFromAnyFolderOnTheWidestPath()
    {
        FollowQuickStartToTheWeights();
        string[] publish = Readme.QuickStartBlock("publish").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, publish.Length);
        string[] command = publish[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("dotnet", command[0]);
        var published = consumer.Dotnet(command[1..]);
        Assert.True(published.ExitCode == 0, "== " + publish[0] + "\n" + published);
        Assert.DoesNotContain("warning", published.Output, StringComparison.OrdinalIgnoreCase); // no AOT or trim warnings

        // The binary, started from a folder without the weights: it finds the copy the package put beside it.
        string[] run = publish[1].Split(" < ");
        Assert.Equal("steps.csv", run[1]);
        string binary = Path.Combine(consumer.Project, run[0]);
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(binary)!, "gesture.safetensors")), "the weights were not published beside the binary");
        string elsewhere = Directory.CreateTempSubdirectory("embedded-rnn-elsewhere-").FullName;
        try
        {
            var result = ProcessRunner.Run(elsewhere, binary, [], File.ReadAllText(ProcessRunner.Data("input.csv")));
            Assert.True(result.ExitCode == 0, "== " + publish[1] + "\n" + result);
            AssertMatchesPyTorch(result);
            Assert.Equal($"kernel path: {KernelPaths.Best}", result.StandardError.Trim()); // IlcInstructionSet=native: this machine's widest

            // Without an instruction set the package picks x86-64-v3 and says so: Vector256 on any AVX2 machine.
            string defaultOutput = Path.Combine(consumer.Root, "publish-default");
            var plain = consumer.Dotnet("publish", "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true", "-o", defaultOutput);
            Assert.True(plain.ExitCode == 0, "== default publish\n" + plain);
            Assert.Contains("Embedded.Rnn: NativeAOT compiles for IlcInstructionSet=x86-64-v3", plain.Output);
            var plainRun = ProcessRunner.Run(elsewhere, Path.Combine(defaultOutput, "Gestures"), [], File.ReadAllText(ProcessRunner.Data("input.csv")));
            Assert.True(plainRun.ExitCode == 0, "== default binary\n" + plainRun);
            AssertMatchesPyTorch(plainRun);
            Assert.True(System.Runtime.Intrinsics.X86.Avx2.IsSupported, "this test expects an x64 machine with AVX2");
            Assert.Equal("kernel path: Vector256", plainRun.StandardError.Trim());
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }

    // README quick start steps 1-3 in the consumer project: the spec, the program, and the weights made by the README's
    // import command from a PyTorch module's state_dict (Data/make_gesture.py wrote it in the format save_file writes).
    private void FollowQuickStartToTheWeights()
    {
        Assert.True(consumer.Ready, consumer.SetupLog);
        string models = Path.Combine(consumer.Project, "models");
        Directory.CreateDirectory(models);
        File.WriteAllText(Path.Combine(models, "gesture.rnn.json"), Readme.QuickStartBlock("spec"));
        File.WriteAllText(Path.Combine(consumer.Project, "Program.cs"), Readme.QuickStartBlock("program"));
        File.Copy(ProcessRunner.Data("gesture.module.safetensors"), Path.Combine(consumer.Project, "model.safetensors"), overwrite: true);
        File.Delete(Path.Combine(consumer.Project, "gesture.safetensors"));

        string[] import = Readme.QuickStartBlock("import").Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("embedded-rnn", import[0]);
        var imported = ProcessRunner.Run(consumer.Project, "dotnet", [Path.Combine(AppContext.BaseDirectory, "embedded-rnn.dll"), .. import[1..]]);
        Assert.True(imported.ExitCode == 0, "== " + string.Join(' ', import) + "\n" + imported);
        Assert.True(File.Exists(Path.Combine(consumer.Project, "gesture.safetensors")), imported.Output);
        Assert.False(File.Exists(Path.Combine(consumer.Project, "gesture.rnn.json")), "import wrote a second spec:\n" + imported.Output);

        // The steps.csv the README shows is what the tests feed in.
        var shown = Readme.QuickStartBlock("steps").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(shown, File.ReadAllLines(ProcessRunner.Data("input.csv")).Take(shown.Length));
    }

    // PyTorch's float64 run of the same weights and input from a zero state (Data/make_gesture.py).
    private static void AssertMatchesPyTorch(ProcessRunner.Result run)
    {
        var expected = ReadCsv(File.ReadAllText(ProcessRunner.Data("expected-output.csv")));
        var actual = ReadCsv(run.StandardOutput);
        Assert.True(expected.Length == actual.Length, $"{actual.Length} output lines, expected {expected.Length}:\n{run.Output}");
        for (int t = 0; t < expected.Length; t++)
        {
            Assert.Equal(expected[t].Length, actual[t].Length);
            for (int j = 0; j < expected[t].Length; j++)
            {
                double error = Math.Abs(actual[t][j] - expected[t][j]) / Math.Max(1.0, Math.Abs(expected[t][j]));
                Assert.True(error <= Bound, $"step {t}, output {j}: got {actual[t][j]:R}, PyTorch {expected[t][j]:R} (scaled error {error:E2})");
            }
        }
    }

    [Fact]
    public void BrokenSpecIsReportedByDotnetBuildAtItsLineAndColumn()
    {
        Assert.True(consumer.Ready, consumer.SetupLog);
        string spec = Path.Combine(consumer.Project, "models", "broken.rnn.json");
        string source = Path.Combine(consumer.Project, "Broken.cs");
        string text = "{\n  \"input\": 6,\n  \"cell\": \"lstn\",\n  \"hidden\": 8\n}\n";
        Directory.CreateDirectory(Path.GetDirectoryName(spec)!);
        File.WriteAllText(spec, text);
        File.WriteAllText(source, "[Embedded.Rnn.RnnModel(\"models/broken.rnn.json\")]\npublic partial class Broken { }\n");
        try
        {
            var build = consumer.Dotnet("build", "-nologo");
            // The unknown cell's value: line 3, column 11 (1-based), counted from the text rather than assumed.
            int offset = text.IndexOf("\"lstn\"", StringComparison.Ordinal);
            int line = text[..offset].Count(c => c == '\n') + 1;
            int column = offset - text.LastIndexOf('\n', offset);
            Assert.True(build.ExitCode != 0, "the build should fail:\n" + build);
            Assert.True(build.Output.Contains($"{spec}({line},{column}): error ERNN003", StringComparison.Ordinal),
                $"expected '{spec}({line},{column}): error ERNN003' in:\n{build}");
        }
        finally
        {
            File.Delete(spec);
            File.Delete(source);
        }
    }

    [Fact]
    public void AMissingSpecOrAClashingMemberIsTheBuildsOnlyError()
    {
        Assert.True(consumer.Ready, consumer.SetupLog);
        string source = Path.Combine(consumer.Project, "Mistakes.cs");
        try
        {
            // A path with a typo, and code that uses the class as if it had been generated: one error, saying the file is missing.
            File.WriteAllText(source, """
                [Embedded.Rnn.RnnModel("models/gestrue.rnn.json")]
                public partial class Typo { }

                internal static class UsesTypo
                {
                    internal static int Size() => Typo.InputSize + Typo.OutputSize;

                    internal static void Stream(Typo model, float[] x, float[] y)
                    {
                        var state = default(Typo.State);
                        model.Step(x, ref state, y);
                    }
                }
                """);
            var build = consumer.Dotnet("build", "-nologo");
            Assert.True(build.ExitCode != 0, "the build should fail:\n" + build);
            var errors = ErrorCodes(build.Output);
            Assert.True(errors.SetEquals(["ERNN001"]), "expected ERNN001 alone:\n" + build);
            Assert.Contains("Spec file 'models/gestrue.rnn.json' does not exist", build.Output);

            // A member of the user's named like a generated one: reported at the user's member, not in generated code.
            File.WriteAllText(source, """
                [Embedded.Rnn.RnnModel("models/clash.rnn.json")]
                public partial class Clash
                {
                    public const int HiddenSize = 3;
                }
                """);
            Directory.CreateDirectory(Path.Combine(consumer.Project, "models"));
            File.WriteAllText(Path.Combine(consumer.Project, "models", "clash.rnn.json"), "{ \"cell\": \"gru\", \"input\": 2, \"hidden\": 4 }");
            build = consumer.Dotnet("build", "-nologo");
            Assert.True(build.ExitCode != 0, "the build should fail:\n" + build);
            Assert.True(ErrorCodes(build.Output).SetEquals(["ERNN017"]), "expected ERNN017 alone:\n" + build);
            Assert.Contains($"{source}(4,22): error ERNN017", build.Output);
        }
        finally
        {
            File.Delete(source);
            File.Delete(Path.Combine(consumer.Project, "models", "clash.rnn.json"));
        }
    }

    // The distinct error codes of a build's output ("error CS0117:", "error ERNN001:").
    private static HashSet<string> ErrorCodes(string output) =>
        System.Text.RegularExpressions.Regex.Matches(output, @"error ([A-Z]+[0-9]+):").Select(m => m.Groups[1].Value).ToHashSet();

    [Fact]
    public void GeneratedCodeIsDocumentedAndTrainingKernelsFollowTheProperty()
    {
        Assert.True(consumer.Ready, consumer.SetupLog);
        string models = Path.Combine(consumer.Project, "docs-models");
        Directory.CreateDirectory(models);
        File.WriteAllText(Path.Combine(models, "doc_lstm.rnn.json"), "{ \"cell\": \"lstm\", \"input\": 2, \"hidden\": 5, \"layers\": 2 }");
        File.WriteAllText(Path.Combine(models, "doc_gru.rnn.json"), "{ \"cell\": \"gru\", \"input\": 3, \"hidden\": 4, \"bidirectional\": true, \"head\": { \"output\": 2, \"activation\": \"softmax\" } }");
        string source = Path.Combine(consumer.Project, "DocModels.cs");
        File.WriteAllText(source, """
            [Embedded.Rnn.RnnModel("docs-models/doc_lstm.rnn.json")]
            public partial class DocLstm { }

            [Embedded.Rnn.RnnModel("docs-models/doc_gru.rnn.json")]
            public partial class DocGru { }
            """);
        string trainable = Path.Combine(consumer.Project, "TrainableCheck.cs");
        try
        {
            // A consumer that publishes its API docs with warnings as errors: every generated public member is documented.
            string[] strict = ["build", "-nologo", "-p:GenerateDocumentationFile=true", "-p:TreatWarningsAsErrors=true"];
            var build = consumer.Dotnet(strict);
            Assert.True(build.ExitCode == 0, "== dotnet build (docs, warnings as errors)\n" + build);
            string docs = File.ReadAllText(Path.Combine(consumer.Project, "bin", "Debug", "net10.0", "Gestures.xml"));
            foreach (string member in new[] { "T:DocLstm", "T:DocLstm.State", "M:DocLstm.FromSafetensors(System.String,System.Nullable{Embedded.Rnn.KernelPath})",
                "M:DocLstm.State.Cell(System.Int32,System.Int32)", "M:DocGru.RunWorkspaceLength(System.Int32)", "F:DocGru.OutputSize" })
            {
                Assert.Contains($"<member name=\"{member}\">", docs);
            }

            // Training kernels only when asked for: without the property the model is not trainable (a compile error).
            File.WriteAllText(trainable, "internal static class TrainableCheck { internal static Embedded.Rnn.ITrainableRnnModel Of(DocLstm model) => model; }\n");
            var inferenceOnly = consumer.Dotnet(strict);
            Assert.True(inferenceOnly.ExitCode != 0 && inferenceOnly.Output.Contains("error CS0266", StringComparison.Ordinal), "== without EmbeddedRnnTraining\n" + inferenceOnly);
            var training = consumer.Dotnet([.. strict, "-p:EmbeddedRnnTraining=true"]);
            Assert.True(training.ExitCode == 0, "== with EmbeddedRnnTraining=true\n" + training);
        }
        finally
        {
            File.Delete(source);
            File.Delete(trainable);
            Directory.Delete(models, recursive: true);
        }
    }

    [Fact]
    public void TheTrainerPackageTurnsOnTrainingKernels()
    {
        Assert.True(consumer.Ready && consumer.PackTraining?.ExitCode == 0, consumer.SetupLog);
        string project = Path.Combine(consumer.Project, "Gestures.csproj");
        string original = File.ReadAllText(project);
        string spec = Path.Combine(consumer.Project, "trained.rnn.json");
        string source = Path.Combine(consumer.Project, "Trained.cs");
        File.WriteAllText(spec, "{ \"cell\": \"gru\", \"input\": 2, \"hidden\": 4 }");
        File.WriteAllText(source, """
            [Embedded.Rnn.RnnModel("trained.rnn.json")]
            public partial class Trained { }

            internal static class TrainerCheck
            {
                internal static Embedded.Rnn.Training.RnnTrainer Of(Trained model) => new(model, new Embedded.Rnn.Training.TrainingOptions());
            }
            """);
        try
        {
            var add = consumer.Dotnet("add", "package", "Embedded.Rnn.Training", "--version", "0.1.0");
            Assert.True(add.ExitCode == 0, "== dotnet add package Embedded.Rnn.Training\n" + add);
            var build = consumer.Dotnet("build", "-nologo");
            Assert.True(build.ExitCode == 0, "== dotnet build with the trainer's package (no property set)\n" + build);
            var optOut = consumer.Dotnet("build", "-nologo", "-p:EmbeddedRnnTraining=false");
            Assert.True(optOut.ExitCode != 0 && optOut.Output.Contains("EmbeddedRnnTraining", StringComparison.Ordinal),
                "== with EmbeddedRnnTraining=false the trainer refuses the model at compile time, naming the property\n" + optOut);
        }
        finally
        {
            File.WriteAllText(project, original);
            File.Delete(spec);
            File.Delete(source);
        }
    }

    [Fact]
    public void BuildRulesAddEachSpecOnceAndCanBeTurnedOff()
    {
        Assert.True(consumer.Ready, consumer.SetupLog);
        string project = Path.Combine(consumer.Project, "Gestures.csproj");
        string original = File.ReadAllText(project);
        string nested = Path.Combine(consumer.Project, "deep", "models");
        Directory.CreateDirectory(nested);
        File.WriteAllText(Path.Combine(nested, "probe.rnn.json"), "{ \"cell\": \"gru\", \"input\": 1, \"hidden\": 4 }");
        File.WriteAllText(Path.Combine(nested, "probe.safetensors.b64"), "AAAA");
        File.WriteAllText(Path.Combine(nested, "other.json"), "{}");
        try
        {
            Assert.Equal(["deep/models/probe.rnn.json", "deep/models/probe.safetensors.b64"], AdditionalFiles());
            Assert.Empty(AdditionalFiles("-p:EnableDefaultRnnSpecItems=false"));

            // A project that lists the spec itself (with its own metadata) keeps exactly its item.
            File.WriteAllText(project, original.Replace("</Project>", "  <ItemGroup><AdditionalFiles Include=\"deep/models/probe.rnn.json\" Mine=\"yes\" /></ItemGroup>\n</Project>", StringComparison.Ordinal));
            Assert.Equal(["deep/models/probe.rnn.json", "deep/models/probe.safetensors.b64"], AdditionalFiles());
        }
        finally
        {
            File.WriteAllText(project, original);
            Directory.Delete(Path.Combine(consumer.Project, "deep"), recursive: true);
        }
    }

    // The project's AdditionalFiles after evaluation (MSBuild's -getItem), as project-relative paths with '/'.
    private string[] AdditionalFiles(params string[] properties)
    {
        var result = consumer.Dotnet(["msbuild", "-getItem:AdditionalFiles", .. properties]);
        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = System.Text.Json.JsonDocument.Parse(result.Output[result.Output.IndexOf('{', StringComparison.Ordinal)..]);
        if (!json.RootElement.GetProperty("Items").TryGetProperty("AdditionalFiles", out var items))
        {
            return [];
        }

        return items.EnumerateArray()
            .Select(i => i.GetProperty("Identity").GetString()!.Replace('\\', '/'))
            .Where(p => !p.StartsWith("models/", StringComparison.Ordinal)) // the quick start's own spec, when that test ran first
            .Order(StringComparer.Ordinal).ToArray();
    }

    private static double[][] ReadCsv(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray())
            .ToArray();
}
