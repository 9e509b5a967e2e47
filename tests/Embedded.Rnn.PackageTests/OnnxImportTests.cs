using System.Globalization;
using System.Text.RegularExpressions;
using Embedded.Rnn.Import;
using Embedded.Rnn.Safetensors;
using Embedded.Rnn.Tool;
using Xunit;

using static Embedded.Rnn.PackageTests.InProcessTool;

namespace Embedded.Rnn.PackageTests;

/// <summary>
/// ONNX import (issue 17 item 2) on the models of tests/onnx (made by tests/onnx/make_onnx_models.py): torch.onnx.export
/// of LSTM, GRU and RNN modules and hand-built graphs. Each supported model is imported by <c>embedded-rnn import</c> and
/// checked against ONNX Runtime (the tool's golden run); <see cref="OnnxImportNumericsTests"/> repeats the check on every
/// kernel path. Each refused feature gets an error naming the node and the attribute or input.
/// </summary>
public sealed partial class OnnxImportTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("embedded-rnn-onnx-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    /// <summary>Each supported model and the spec its import must write (whitespace collapsed).</summary>
    public static TheoryData<string, string> SupportedModels => new()
    {
        { "exported_lstm", "{ \"cell\": \"lstm\", \"input\": 3, \"hidden\": 5 }" },
        { "exported_lstm_l2_bidir_batchfirst_head_softmax", "{ \"cell\": \"lstm\", \"input\": 3, \"hidden\": 5, \"layers\": 2, \"bidirectional\": true, \"head\": { \"output\": 4, \"activation\": \"softmax\" } }" },
        { "exported_lstm_l2_nobias_head", "{ \"cell\": \"lstm\", \"input\": 3, \"hidden\": 5, \"layers\": 2, \"bias\": false, \"head\": { \"output\": 2, \"activation\": \"none\" } }" },
        { "exported_gru_head_sigmoid", "{ \"cell\": \"gru\", \"input\": 3, \"hidden\": 5, \"head\": { \"output\": 3, \"activation\": \"sigmoid\" } }" },
        { "exported_gru_l3_bidir", "{ \"cell\": \"gru\", \"input\": 3, \"hidden\": 5, \"layers\": 3, \"bidirectional\": true }" },
        { "exported_gru_nobias_bidir_batchfirst", "{ \"cell\": \"gru\", \"input\": 3, \"hidden\": 5, \"bidirectional\": true, \"bias\": false }" },
        { "exported_rnn_tanh_l2_head_tanh", "{ \"cell\": \"rnn\", \"activation\": \"tanh\", \"input\": 3, \"hidden\": 5, \"layers\": 2, \"head\": { \"output\": 1, \"activation\": \"tanh\" } }" },
        { "exported_rnn_relu_bidir_batchfirst", "{ \"cell\": \"rnn\", \"activation\": \"relu\", \"input\": 3, \"hidden\": 5, \"bidirectional\": true }" },
        { "built_lstm_layout1_bidir", "{ \"cell\": \"lstm\", \"input\": 3, \"hidden\": 5, \"bidirectional\": true }" },
        { "built_gru_reset_before", "{ \"cell\": \"gru\", \"reset\": \"before\", \"input\": 3, \"hidden\": 5 }" },
        { "built_gru_reset_before_default_bidir", "{ \"cell\": \"gru\", \"reset\": \"before\", \"input\": 3, \"hidden\": 5, \"bidirectional\": true }" },
        { "built_gru_gemm_head", "{ \"cell\": \"gru\", \"input\": 3, \"hidden\": 5, \"head\": { \"output\": 2, \"activation\": \"none\" } }" },
    };

    /// <summary>Each refused feature: the file, and what the error must name (the node, then the attribute or input).</summary>
    public static TheoryData<string, string, string> RefusedModels => new()
    {
        { "built_refused_lstm_peepholes", "node 'cell' (LSTM)", "input P ('cell_P', peephole weights)" },
        { "built_refused_lstm_input_forget", "node 'cell' (LSTM)", "attribute 'input_forget' is 1" },
        { "built_refused_lstm_clip", "node 'cell' (LSTM)", "attribute 'clip' is given" },
        { "built_refused_gru_hardsigmoid", "node 'cell' (GRU)", "attribute 'activations' is [HardSigmoid, Tanh]" },
        { "built_refused_rnn_reverse", "node 'cell' (RNN)", "attribute 'direction' is 'reverse'" },
        { "built_refused_rnn_unsupported_op", "node 'leaky' (LeakyRelu)", "is not supported on the way from input 'x' to output 'y'" },
        { "built_refused_rnn_weights_as_input", "'cell_W'", "the importer reads models with one sequence input, whose weights and initial states are stored in the model" },
        { "built_refused_two_chains", "node 'lost' (RNN)", "is not on the path from input 'x' to output 'kept_Y'" },
        { "built_refused_last_step", "node 'last_step' (Slice)", "takes part of the sequence (e.g. its last step)" },
        { "built_refused_dynamic_features", "graph input 'x'", "has a dynamic feature axis ('features')" },
    };

    [Theory]
    [MemberData(nameof(SupportedModels))]
    public void ImportWritesTheSpecAndWeightsAndMatchesOnnxRuntime(string stem, string expectedSpec)
    {
        var (code, output, error) = Run("import", Model(stem), "--name", stem, "--out", _temp);
        Assert.True(code == 0, output + error);
        var passed = GoldenLine().Match(output);
        Assert.True(passed.Success, output);
        Assert.Equal("3 sequence(s) × 7 steps", passed.Groups["runs"].Value);
        Assert.True(double.Parse(passed.Groups["error"].Value, CultureInfo.InvariantCulture) <= GoldenCheck.Bound, passed.Value);

        string specPath = Path.Combine(_temp, stem + ".rnn.json");
        Assert.Equal(expectedSpec, Collapse(File.ReadAllText(specPath)));
        using var compiled = ModelCompiler.CompileFile(specPath);
        var weights = SafetensorsFile.Read(Path.Combine(_temp, stem + ".safetensors"));
        compiled.FromSafetensors(weights); // the strict loader: every tensor present, named and shaped as the spec needs
        Assert.Equal(compiled.Parameters.Select(p => p.Name).Order(StringComparer.Ordinal), weights.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(RefusedModels))]
    public void ARefusedFeatureIsNamedWithItsNodeAndNothingIsWritten(string stem, string node, string what)
    {
        var (code, output, error) = Run("import", Model(stem), "--name", stem, "--out", _temp);
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.StartsWith($"embedded-rnn import: error: {stem}.onnx: ", error, StringComparison.Ordinal);
        Assert.Contains(node, error);
        Assert.Contains(what, error);
        Assert.Single(error.Trim().Split('\n')); // one line
        Assert.Empty(Directory.GetFileSystemEntries(_temp));
        Assert.DoesNotContain("wrote", output);

        // The library says the same.
        var e = Assert.Throws<ImportException>(() => OnnxImport.Read(Model(stem)));
        Assert.Contains(node, e.Message);
        Assert.Contains(what, e.Message);
    }

    [Fact]
    public void StackedGrusWithDifferentResetConventionsAreRefused()
    {
        // One spec holds one GRU convention: a middle layer switched to linear_before_reset=0 must not import silently.
        var model = Embedded.Rnn.Import.Onnx.Schema.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Model("exported_gru_l3_bidir")));
        var second = model.Graph.Node.Where(n => n.OpType == "GRU").ElementAt(1);
        var attribute = second.Attribute.FirstOrDefault(a => a.Name == "linear_before_reset");
        if (attribute is null)
        {
            attribute = new Embedded.Rnn.Import.Onnx.Schema.AttributeProto { Name = "linear_before_reset", Type = Embedded.Rnn.Import.Onnx.Schema.AttributeProto.Types.AttributeType.Int };
            second.Attribute.Add(attribute);
        }

        attribute.I = 0;
        var e = Assert.Throws<ImportException>(() => OnnxImport.Parse(Google.Protobuf.MessageExtensions.ToByteArray(model)));
        Assert.Equal($"node '{second.Name}' (GRU): attribute 'linear_before_reset' is 0 (the reset-before GRU), the layers before it 1 (PyTorch's GRU); a model's layers share one GRU convention", e.Message);
    }

    [Theory]
    [InlineData(new long[] { 0, 0 })]
    [InlineData(new long[] { 0, -5 })]
    public void AnUnsqueezeThatRepeatsAnAxisIsRefused(long[] axes)
    {
        // The output's rank counts each axis once: a repeat used to index past the input's dimensions (IndexOutOfRangeException).
        var model = Embedded.Rnn.Import.Onnx.Schema.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Model("exported_lstm")));
        string output = model.Graph.Output[0].Name;
        var last = model.Graph.Node.Single(n => n.Output.Contains(output));
        last.Output[last.Output.IndexOf(output)] = "before_unsqueeze";
        var unsqueeze = new Embedded.Rnn.Import.Onnx.Schema.NodeProto { Name = "extra", OpType = "Unsqueeze", Input = { "before_unsqueeze" }, Output = { output } };
        var attribute = new Embedded.Rnn.Import.Onnx.Schema.AttributeProto { Name = "axes", Type = Embedded.Rnn.Import.Onnx.Schema.AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.Add(axes);
        unsqueeze.Attribute.Add(attribute);
        model.Graph.Node.Add(unsqueeze);
        var e = Assert.Throws<ImportException>(() => OnnxImport.Parse(Google.Protobuf.MessageExtensions.ToByteArray(model)));
        Assert.StartsWith($"node 'extra' (Unsqueeze): axes [{string.Join(", ", axes)}] name the same output axis twice", e.Message);
    }

    [Fact]
    public void AnIdentityCycleIsRefusedNotAStackOverflow()
    {
        // A damaged graph whose weights come from two Identity nodes feeding each other: the walk to the constant used to
        // recurse until the process died.
        var (model, lstm) = ExportedLstm();
        lstm.Input[1] = "cycle_a";
        model.Graph.Node.Add(new Embedded.Rnn.Import.Onnx.Schema.NodeProto { Name = "to_a", OpType = "Identity", Input = { "cycle_b" }, Output = { "cycle_a" } });
        model.Graph.Node.Add(new Embedded.Rnn.Import.Onnx.Schema.NodeProto { Name = "to_b", OpType = "Identity", Input = { "cycle_a" }, Output = { "cycle_b" } });
        Assert.Equal("value 'cycle_a' comes from a cycle of Identity nodes: the graph is malformed", Refused(model).Message);
    }

    [Fact]
    public void AConstantOfShapeWithoutATensorIsRefused()
    {
        // Its 'value' attribute without the tensor it should hold (a NullReferenceException before).
        var (model, _) = ExportedLstm();
        var fill = model.Graph.Node.First(n => n.OpType == "ConstantOfShape");
        var value = fill.Attribute.Single(a => a.Name == "value");
        value.T = null;
        value.Type = Embedded.Rnn.Import.Onnx.Schema.AttributeProto.Types.AttributeType.Int;
        Assert.EndsWith("attribute 'value' holds no tensor", Refused(model).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARecurrentShapeWhoseGateRowsOverflowAnIntIsRefusedByName()
    {
        // R of [1, 0, 2^30]: 4 gates × 2^30 hidden wrapped to 0 rows and passed the check, and a later copy threw an
        // ArgumentOutOfRangeException that named no tensor.
        var (model, lstm) = ExportedLstm();
        var r = model.Graph.Initializer.Single(t => t.Name == lstm.Input[2]);
        r.Dims.Clear();
        r.Dims.Add([1, 0, 1L << 30]);
        Assert.Contains("input R has shape [1, 0, 1073741824]", Refused(model).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AWeightThatIsNotFiniteIsRefusedNamingTheOnnxTensor()
    {
        // inspect said "import it", and import refused the renamed, reordered tensor (weight_ih_l0) with a pointer to a
        // library option.
        var (model, lstm) = ExportedLstm();
        var w = model.Graph.Initializer.Single(t => t.Name == lstm.Input[1]);
        var values = Embedded.Rnn.Import.Onnx.OnnxGraph.Floats(w, "W");
        values[7] = float.NaN;
        w.RawData = Google.Protobuf.ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        w.FloatData.Clear();
        string file = Path.Combine(_temp, "nan.onnx");
        File.WriteAllBytes(file, Google.Protobuf.MessageExtensions.ToByteArray(model));

        var e = Assert.Throws<ImportException>(() => OnnxImport.Read(file));
        Assert.EndsWith("holds NaN at index 7; a model with a weight that is not finite cannot be imported", e.Message, StringComparison.Ordinal);
        Assert.Contains($"input W ('{w.Name}')", e.Message, StringComparison.Ordinal);
        foreach (string command in new[] { "inspect", "import" })
        {
            var (code, output, error) = Run(command == "inspect" ? ["inspect", file] : ["import", file, "--name", "nan", "--out", _temp]);
            Assert.Equal(ToolCommands.BadInput, code);
            Assert.Equal($"embedded-rnn {command}: error: nan.onnx: {e.Message}", error.TrimEnd());
        }

        Assert.Equal([file], Directory.GetFiles(_temp));
    }

    [Fact]
    public void FixedSizesTooLargeForAGoldenRunAreRefused()
    {
        // 100000 steps × 100000 sequences is allowed axis by axis; the product overflowed an int.
        var model = Embedded.Rnn.Import.Onnx.Schema.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Model("exported_lstm")));
        var dims = model.Graph.Input.Single(i => i.Name == "x").Type.TensorType.Shape.Dim;
        dims[0].DimValue = 100_000;
        dims[1].DimValue = 100_000;
        string file = Path.Combine(_temp, "fixed.onnx");
        File.WriteAllBytes(file, Google.Protobuf.MessageExtensions.ToByteArray(model));
        var (code, output, error) = Run("import", file, "--name", "fixed", "--out", _temp);
        Assert.True(code == ToolCommands.BadInput, output + error);
        Assert.True(error.Contains("the graph fixes 100000 steps × 100000 sequences (3 features, 5 outputs): 50000000000 values, more than the golden run's 16777216", StringComparison.Ordinal), error);
        Assert.Equal([file], Directory.GetFiles(_temp)); // no spec or weights written
    }

    [Fact]
    public void TheLibraryGivesPyTorchNamesAndGateOrder()
    {
        var model = OnnxImport.Read(Model("exported_lstm_l2_bidir_batchfirst_head_softmax"));
        Assert.Equal(new ImportedSpec("lstm", 3, 5, 2, true, true, null, 4, "softmax"), model.Spec);
        Assert.Equal(
            ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
             "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1", "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse",
             "head.weight", "head.bias"],
            model.Tensors.Select(t => t.Name));
        Assert.Equal([20, 10], model.Tensors.Single(t => t.Name == "weight_ih_l1").Shape);
        Assert.Equal([4, 10], model.Tensors.Single(t => t.Name == "head.weight").Shape);
        Assert.Equal(1, model.Signature.TimeAxis); // batch_first: [batch, time, features]
        Assert.Contains(model.Nodes, n => n.StartsWith("node '/rnn/LSTM_1' (LSTM): layer 1", StringComparison.Ordinal));
    }

    [Fact]
    public void AWrongGateOrderFailsTheGoldenCheck()
    {
        // The check has teeth: PyTorch's LSTM order with the forget and cell blocks swapped (ONNX's i, o, f, c read
        // wrongly) has the right shapes, so only the comparison with ONNX Runtime can catch it.
        string path = Model("exported_lstm");
        var model = OnnxImport.Read(path);
        const int hidden = 5;
        var swapped = model.Tensors.Select(t =>
        {
            if (!t.Name.StartsWith("weight_", StringComparison.Ordinal) && !t.Name.StartsWith("bias_", StringComparison.Ordinal))
            {
                return t;
            }

            var values = (float[])t.Values.Clone();
            int block = values.Length / 4;
            values.AsSpan(block * 1, block).CopyTo(values.AsSpan(block * 2));
            t.Values.AsSpan(block * 2, block).CopyTo(values.AsSpan(block * 1));
            return t with { Values = values };
        }).ToList();
        Assert.Equal(4 * hidden * 3, swapped[0].Values.Length);
        using var compiled = ModelCompiler.Compile(Path.Combine(_temp, "m.rnn.json"), model.Spec.ToJson());
        var golden = OnnxGoldenRun.Golden(File.ReadAllBytes(path), model);
        var good = GoldenCheck.Run(compiled, compiled.FromSafetensors(SafetensorsFile.Parse(model.ToSafetensors("test"))), golden, batchFirst: false);
        Assert.Null(good.Failure);
        var bad = GoldenCheck.Run(compiled, compiled.FromSafetensors(SafetensorsFile.Parse((model with { Tensors = swapped }).ToSafetensors("test"))), golden, batchFirst: false);
        Assert.NotNull(bad.Failure);
    }

    [Fact]
    public void ImportWithTheUsersSpecWritesOnlyTheWeights()
    {
        string spec = Path.Combine(_temp, "classifier.rnn.json");
        File.WriteAllText(spec, "{ \"cell\": \"gru\", \"input\": 3, \"hidden\": 5, \"head\": { \"output\": 3, \"activation\": \"sigmoid\" } }");
        var (code, output, error) = Run("import", Model("exported_gru_head_sigmoid"), "--spec", spec, "--out", _temp);
        Assert.True(code == 0, output + error);
        Assert.Contains("golden check passed against ONNX Runtime", output);
        Assert.Equal([spec, Path.Combine(_temp, "classifier.safetensors")], Directory.GetFiles(_temp).Order(StringComparer.Ordinal));

        // A spec of other sizes: refused, naming the spec.
        File.WriteAllText(spec, "{ \"cell\": \"gru\", \"input\": 3, \"hidden\": 6, \"head\": { \"output\": 3, \"activation\": \"sigmoid\" } }");
        (code, _, error) = Run("import", Model("exported_gru_head_sigmoid"), "--spec", spec, "--out", _temp, "--force");
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("the weights do not fit classifier.rnn.json (gru (input 3, hidden 5", error);
    }

    [Fact]
    public void SafetensorsOptionsAreRefusedForOnnx()
    {
        foreach (string[] extra in new[] { ["--golden", Model("exported_lstm")], ["--head-prefix", "fc."], new[] { "--activation", "relu" } })
        {
            var (code, _, error) = Run(["import", Model("exported_lstm"), "--name", "m", "--out", _temp, .. extra]);
            Assert.Equal(ToolCommands.BadInput, code);
            Assert.Contains($"{extra[0]} is for PyTorch safetensors files; an ONNX model says its layers, activations and head itself", error);
        }
    }

    [Fact]
    public void InspectDescribesAnOnnxModel()
    {
        var (code, output, error) = Run("inspect", Model("exported_rnn_relu_bidir_batchfirst"));
        Assert.True(code == 0, error);
        Assert.Contains("exported_rnn_relu_bidir_batchfirst.onnx: ONNX model, opset 14, from pytorch 1.13.0", output);
        Assert.Contains("chain from input 'x' (batch-major) to output 'y':", output);
        Assert.Contains("(RNN): layer 0, rnn, input 3, hidden 5, bidirectional, with bias, layout 0, relu", output);
        Assert.Contains("model: rnn (input 3, hidden 5, 1 layer, bidirectional, with bias), no head", output);
        Assert.Contains("{ \"cell\": \"rnn\", \"activation\": \"relu\", \"input\": 3, \"hidden\": 5, \"bidirectional\": true }", output);

        // The benchmark's ONNX models take their state as inputs (for streaming in ONNX Runtime): named, in one line.
        (code, output, error) = Run("inspect", Path.Combine(ProcessRunner.RepositoryRoot, "bench", "assets", "gru_i1_h8.onnx"));
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Equal("", output);
        Assert.Equal(
            "embedded-rnn inspect: error: gru_i1_h8.onnx: graph input 'initial_h' is the initial state of node 'gru' (GRU) (input initial_h); the importer reads models " +
            "that start from a zero state (the imported model keeps its state in State, which you can set): export without passing the state in",
            error.Trim());
    }

    [Fact]
    public void ASafetensorsCommandGivenAnOnnxFilePointsAtImport()
    {
        string spec = Path.Combine(_temp, "m.rnn.json");
        File.WriteAllText(spec, "{ \"cell\": \"lstm\", \"input\": 3, \"hidden\": 5 }");
        var (code, _, error) = Run("export", Model("exported_lstm"), "--spec", spec, "--out", Path.Combine(_temp, "x.safetensors"));
        Assert.NotEqual(0, code);
        Assert.Contains("this looks like an ONNX model, not safetensors; embedded-rnn import reads ONNX", error);
    }

    [Fact]
    public void ADamagedFileGivesAnImportErrorNeverACrash()
    {
        // Truncations and flipped bytes of every test model: the library throws ImportException (the tool prints it in
        // one line) or imports something it checks later; nothing else escapes.
        var random = new Random(17);
        foreach (string file in Directory.GetFiles(Path.GetDirectoryName(Model("exported_lstm"))!, "*.onnx"))
        {
            byte[] original = File.ReadAllBytes(file);
            for (int trial = 0; trial < 60; trial++)
            {
                byte[] bytes = trial < 20 ? original[..random.Next(original.Length)] : (byte[])original.Clone();
                for (int flip = 0; trial >= 20 && flip < 1 + (trial % 4); flip++)
                {
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                }

                try
                {
                    OnnxImport.Parse(bytes);
                }
                catch (ImportException)
                {
                }
                catch (Exception e)
                {
                    Assert.Fail($"{Path.GetFileName(file)} trial {trial}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
                }
            }
        }
    }

    internal static string Model(string stem) => Path.Combine(AppContext.BaseDirectory, "onnx", stem + ".onnx");

    // exported_lstm, parsed for a test to damage, and its LSTM node.
    private static (Embedded.Rnn.Import.Onnx.Schema.ModelProto Model, Embedded.Rnn.Import.Onnx.Schema.NodeProto Lstm) ExportedLstm()
    {
        var model = Embedded.Rnn.Import.Onnx.Schema.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Model("exported_lstm")));
        return (model, model.Graph.Node.Single(n => n.OpType == "LSTM"));
    }

    private static ImportException Refused(Embedded.Rnn.Import.Onnx.Schema.ModelProto model) =>
        Assert.Throws<ImportException>(() => OnnxImport.Parse(Google.Protobuf.MessageExtensions.ToByteArray(model)));

    [GeneratedRegex(@"golden check passed against ONNX Runtime: (?<runs>.+) on the \w+ path, largest scaled error (?<error>\S+) \(bound 1e-05\)")]
    private static partial Regex GoldenLine();
}

/// <summary>
/// Every imported ONNX model against ONNX Runtime on every kernel path (forced), through the tool's golden run. Named
/// "Numerics" so CI's reruns with narrower ISAs (.ci/run) include it, where the default path moves too.
/// </summary>
public sealed class OnnxImportNumericsTests(Xunit.Abstractions.ITestOutputHelper log)
{
    public static TheoryData<string> Models => new(OnnxImportTests.SupportedModels.Select(row => (string)row[0]));

    [Theory]
    [MemberData(nameof(Models))]
    public void EveryKernelPathMatchesOnnxRuntime(string stem)
    {
        string path = OnnxImportTests.Model(stem);
        var imported = OnnxImport.Read(path);
        AssertGoldenOnEveryPath(stem, imported, OnnxGoldenRun.Golden(File.ReadAllBytes(path), imported), log);
    }
}
