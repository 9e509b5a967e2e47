using System.CommandLine;
using System.Globalization;
using Embedded.Rnn.Safetensors;
using Embedded.Rnn.Tool;
using Xunit;

using static Embedded.Rnn.PackageTests.InProcessTool;

namespace Embedded.Rnn.PackageTests;

/// <summary>The embedded-rnn commands, run in-process on the PyTorch reference files, including what users get wrong.</summary>
public sealed class ToolTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("embedded-rnn-tool-").FullName;

    public static TheoryData<string> ReferenceStems =>
        new(Directory.GetFiles(Reference(string.Empty), "*.safetensors").Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal));

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Theory]
    [MemberData(nameof(ReferenceStems))]
    public void InferenceFindsEachReferenceCasesModel(string stem)
    {
        var file = SafetensorsFile.Read(Reference(stem));
        var layout = StateDictLayout.Infer(file, prefix: null, headPrefix: "head.");
        string Meta(string key) => file.Metadata[key];
        Assert.Equal(Meta("cell").Split('_')[0], layout.Cell); // rnn_tanh, rnn_relu -> rnn
        Assert.Equal(int.Parse(Meta("input_size"), CultureInfo.InvariantCulture), layout.Input);
        Assert.Equal(int.Parse(Meta("hidden_size"), CultureInfo.InvariantCulture), layout.Hidden);
        Assert.Equal(int.Parse(Meta("num_layers"), CultureInfo.InvariantCulture), layout.Layers);
        Assert.Equal(Meta("bidirectional") == "true", layout.Bidirectional);
        Assert.Equal(Meta("bias") == "true", layout.Bias);
        Assert.Null(layout.HeadOutput);
        Assert.Equal(Meta("param_names").Split(','), layout.Tensors.Select(t => t.Target));
    }

    [Fact]
    public void ASafetensorsFileWhoseHeaderLengthStartsLikeOnnxIsReadAsSafetensors()
    {
        // A header padded with spaces to 0x120108 bytes: its length's first bytes, 08 01 12, are an ONNX model's first
        // three (ir_version, then producer_name), and inspect and import took the file for a damaged ONNX model.
        byte[] original = File.ReadAllBytes(Reference("lstm_i8_h16_t10_b2_l2"));
        int headerLength = (int)BitConverter.ToUInt64(original, 0);
        const int Padded = 0x120108;
        var bytes = new byte[8 + Padded + (original.Length - 8 - headerLength)];
        BitConverter.GetBytes((ulong)Padded).CopyTo(bytes, 0);
        original.AsSpan(8, headerLength).CopyTo(bytes.AsSpan(8));
        bytes.AsSpan(8 + headerLength, Padded - headerLength).Fill((byte)' ');
        original.AsSpan(8 + headerLength).CopyTo(bytes.AsSpan(8 + Padded));
        Assert.Equal([64L, 16L], Embedded.Rnn.Safetensors.SafetensorsFile.Read(new MemoryStream(bytes)).GetTensor("weight_hh_l1").Shape);
        Assert.True(Embedded.Rnn.Import.OnnxImport.IsOnnx(bytes.AsSpan(0, 16)), "the first bytes alone look like ONNX");
        string file = Path.Combine(_temp, "onnx_like.safetensors");
        File.WriteAllBytes(file, bytes);

        var (code, output, error) = Run("inspect", file);
        Assert.True(code == 0, error);
        Assert.Contains("{ \"cell\": \"lstm\", \"input\": 8, \"hidden\": 16, \"layers\": 2 }", output);
    }

    [Fact]
    public void InspectListsTensorsAndPrintsTheSpec()
    {
        var (code, output, error) = Run("inspect", Reference("lstm_i8_h16_t10_b2_l2"));
        Assert.True(code == 0, error);
        Assert.Contains("weight_hh_l1", output);
        Assert.Contains("F32  [64, 16]", output);
        Assert.Contains("model: lstm (input 8, hidden 16, 2 layers, unidirectional, with bias), no head", output);
        Assert.Contains("{ \"cell\": \"lstm\", \"input\": 8, \"hidden\": 16, \"layers\": 2 }", output);
        Assert.Contains($"weights: f32, {(64 * 8 + 64 * 16 + 64 * 16 + 64 * 16) * 4} bytes of weight matrices", output);

        // A stored int8 file (WeightQuantization.StoredFile): the spec needs its precision; the row scales are the model's.
        var reference = SafetensorsFile.Read(Reference("lstm_i8_h16_t10_b2_l2"));
        var specs = reference.Metadata["param_names"].Split(',').Select(name => new ParameterSpec(name, reference.GetTensor(name).Shape.Select(d => (int)d).ToArray())).ToList();
        string int8 = Path.Combine(_temp, "int8.safetensors");
        WeightQuantization.StoredFile(specs, specs.Select(p => reference.ReadAsSingle(p.Name)).ToList(), WeightStorage.Int8).Save(int8);
        (code, output, error) = Run("inspect", int8);
        Assert.True(code == 0, error);
        Assert.Contains("weight_hh_l1.scale  F32  [64]", output);
        Assert.Contains($"weights: int8, {64 * 8 + 64 * 16 * 3 + 4 * 64 * 4} bytes of weight matrices and row scales", output);
        Assert.Contains("{ \"cell\": \"lstm\", \"input\": 8, \"hidden\": 16, \"layers\": 2, \"precision\": \"int8\" }", output);
        Assert.DoesNotContain("not part of the model", output);

        (code, output, error) = Run("inspect", ProcessRunner.Data("gesture.module.safetensors"));
        Assert.True(code == 0, error);
        Assert.Contains("(tensors under 'lstm.')", output);
        Assert.Contains("pass --head-prefix fc. to include it", output);
    }

    [Theory]
    [InlineData("lstm_i8_h16_t10_b2_l2", null)]
    [InlineData("gru_i6_h16_t9_b2_bidir", null)]
    [InlineData("lstm_i5_h12_t6_b2_nobias", null)]
    [InlineData("rnn_relu_i8_h32_t20_b2", "relu")]
    [InlineData("rnn_tanh_i4_h16_t200_b1", "tanh")]
    public void ImportPassesThePyTorchGoldenRun(string stem, string? activation)
    {
        // A reference case holds the weights and PyTorch's input, h0/c0 and output: it is its own golden file.
        string[] args = ["import", Reference(stem), "--name", stem, "--out", _temp, "--golden", Reference(stem)];
        var (code, output, error) = Run(activation is null ? args : [.. args, "--activation", activation]);
        Assert.True(code == 0, output + error);
        Assert.Contains("golden check passed", output);
        using var compiled = ModelCompiler.CompileFile(Path.Combine(_temp, stem + ".rnn.json"));
        compiled.FromSafetensors(SafetensorsFile.Read(Path.Combine(_temp, stem + ".safetensors"))); // strict load: names, shapes
    }

    [Fact]
    public void ImportRenamesAModuleStateDictAndChecksItsHead()
    {
        var (code, output, error) = Run("import", ProcessRunner.Data("gesture.module.safetensors"), "--name", "gesture", "--out", _temp,
            "--head-prefix", "fc.", "--head-activation", "softmax", "--golden", ProcessRunner.Data("gesture.golden.safetensors"));
        Assert.True(code == 0, output + error);
        Assert.Contains("golden check passed: 1 sequence(s) × 12 steps", output);
        AssertSameTensors(SafetensorsFile.Read(ProcessRunner.Data("gesture.safetensors")), SafetensorsFile.Read(Path.Combine(_temp, "gesture.safetensors")));
        Assert.Equal(
            "{ \"cell\": \"lstm\", \"input\": 6, \"hidden\": 32, \"layers\": 2, \"head\": { \"output\": 4, \"activation\": \"softmax\" } }",
            string.Join(' ', File.ReadAllText(Path.Combine(_temp, "gesture.rnn.json")).Split(['\n', '\r'], StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim())));
    }

    [Fact]
    public void ImportRefusesToWriteOverItsInput()
    {
        // The state_dict imported into its own folder under its own name: with --force the renamed weights replaced the
        // user's file, and any tensor the model does not use was gone with it.
        string source = Path.Combine(_temp, "gesture.safetensors");
        File.Copy(ProcessRunner.Data("gesture.module.safetensors"), source);
        byte[] before = File.ReadAllBytes(source);
        var (code, output, error) = Run("import", source, "--name", "gesture", "--out", _temp, "--head-prefix", "fc.", "--force");
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains($"the weights file is the model file ({source}), or writes its temporary over it; write it elsewhere.", error);
        Assert.Equal(before, File.ReadAllBytes(source));
        Assert.Equal([source], Directory.GetFiles(_temp));
        Assert.DoesNotContain("golden", output);
    }

    [Fact]
    public void ImportWithTheUsersSpecWritesOnlyTheWeightsAndChecksThemAgainstIt()
    {
        // The quick start's layout: the spec the user wrote lives in models/, the weights go in the project folder.
        string models = Directory.CreateDirectory(Path.Combine(_temp, "models")).FullName;
        string spec = Path.Combine(models, "gesture.rnn.json");
        File.WriteAllText(spec, Readme.QuickStartBlock("spec"));
        var (code, output, error) = Run("import", ProcessRunner.Data("gesture.module.safetensors"), "--spec", spec, "--out", _temp,
            "--head-prefix", "fc.", "--golden", ProcessRunner.Data("gesture.golden.safetensors"));
        Assert.True(code == 0, output + error);
        Assert.Contains("golden check passed", output);
        Assert.Equal([Path.Combine(_temp, "gesture.safetensors"), models], Directory.GetFileSystemEntries(_temp).Order(StringComparer.Ordinal));
        Assert.Equal(Readme.QuickStartBlock("spec"), File.ReadAllText(spec)); // untouched
        AssertSameTensors(SafetensorsFile.Read(ProcessRunner.Data("gesture.safetensors")), SafetensorsFile.Read(Path.Combine(_temp, "gesture.safetensors")));

        // Weights of another shape: refused, naming the spec and the tensor.
        File.WriteAllText(spec, Readme.QuickStartBlock("spec").Replace("\"hidden\": 32", "\"hidden\": 16", StringComparison.Ordinal));
        (code, _, error) = Run("import", ProcessRunner.Data("gesture.module.safetensors"), "--spec", spec, "--out", _temp, "--head-prefix", "fc.", "--force");
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("the weights do not fit gesture.rnn.json (lstm (input 6, hidden 32", error);
        Assert.Contains("weight_ih_l0", error);

        (code, _, error) = Run("import", ProcessRunner.Data("gesture.module.safetensors"), "--spec", spec, "--head-activation", "softmax");
        Assert.Equal(1, code);
        Assert.Contains("--activation and --head-activation come from the spec when --spec is given.", error);
        (code, _, error) = Run("import", ProcessRunner.Data("gesture.module.safetensors"));
        Assert.Equal(1, code);
        Assert.Contains("import needs --name", error);
    }

    [Fact]
    public void ImportWarnsWhenItsSpecShadowsOneOfTheSameNameBelow()
    {
        string models = Directory.CreateDirectory(Path.Combine(_temp, "models")).FullName;
        File.WriteAllText(Path.Combine(models, "gesture.rnn.json"), Readme.QuickStartBlock("spec"));
        var (code, output, error) = Run("import", ProcessRunner.Data("gesture.module.safetensors"), "--name", "gesture", "--out", _temp,
            "--head-prefix", "fc.", "--head-activation", "softmax");
        Assert.True(code == 0, output + error);
        Assert.Contains($"warning: {Path.Combine("models", "gesture.rnn.json")} exists too, and a project makes both AdditionalFiles. " +
            $"To keep that spec, delete gesture.rnn.json and import with --spec {Path.Combine("models", "gesture.rnn.json")} (it writes only the weights).", output);
    }

    [Fact]
    public void ImportFailsTheGoldenRunWhenTheGateLayoutDiffers()
    {
        // TensorFlow orders LSTM gates i, c, f, o; PyTorch (and Embedded.Rnn) i, f, g, o. Weights exported in the
        // other order have the right shapes, so only the golden run can catch them: swap the f and g row blocks.
        var source = SafetensorsFile.Read(Reference("lstm_i1_h8_t5_b1"));
        const int hidden = 8;
        var writer = new SafetensorsWriter();
        foreach (var tensor in source.Tensors)
        {
            var values = source.ReadAsSingle(tensor.Name);
            if (tensor.Name is "weight_ih_l0" or "weight_hh_l0" or "bias_ih_l0" or "bias_hh_l0")
            {
                int row = (int)(tensor.ElementCount / (4 * hidden)); // floats per row
                var f = values.AsSpan(hidden * row, hidden * row).ToArray();
                values.AsSpan(2 * hidden * row, hidden * row).CopyTo(values.AsSpan(hidden * row));
                f.CopyTo(values.AsSpan(2 * hidden * row));
            }

            if (tensor.DType == SafetensorsDType.F64)
            {
                writer.Add(tensor.Name, source.ReadAsDouble(tensor.Name), [.. tensor.Shape]);
            }
            else
            {
                writer.Add(tensor.Name, values, [.. tensor.Shape]);
            }
        }

        string swapped = Path.Combine(_temp, "tensorflow-order.safetensors");
        writer.Save(swapped);
        var (code, output, error) = Run("import", swapped, "--name", "swapped", "--out", _temp, "--golden", swapped);
        Assert.True(code == ToolCommands.CheckFailed, output + error);
        Assert.Contains("golden check FAILED: output at step 0, sequence 0", error);
        Assert.False(File.Exists(Path.Combine(_temp, "swapped.rnn.json")));
        Assert.False(File.Exists(Path.Combine(_temp, "swapped.safetensors")));

        // An rnn's activation cannot be read from its weights: PyTorch's default (tanh) on relu weights fails the check.
        (code, _, error) = Run("import", Reference("rnn_relu_i1_h8_t5_b1"), "--name", "relu", "--out", _temp, "--golden", Reference("rnn_relu_i1_h8_t5_b1"));
        Assert.True(code == ToolCommands.CheckFailed, error);
        Assert.Contains("check --activation", error);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AnImportWhoseWeightsCannotBeWrittenChangesNeitherFile(bool replacing)
    {
        // import wrote the spec, then the weights, each on its own: when the second write failed (a full disk), a new
        // spec was left beside the old weights (--force), or alone.
        string folder = Directory.CreateDirectory(Path.Combine(_temp, "pair")).FullName;
        string spec = Path.Combine(folder, "lstm.rnn.json");
        string weights = Path.Combine(folder, "lstm.safetensors");
        if (replacing)
        {
            File.WriteAllText(spec, "the old spec");
            File.WriteAllText(weights, "the old weights");
        }

        Directory.CreateDirectory(weights + ".tmp"); // in the way of the weights' temporary file: their write fails
        var (code, output, error) = Run(["import", Reference("lstm_i1_h8_t5_b1"), "--name", "lstm", "--out", folder, "--golden", Reference("lstm_i1_h8_t5_b1"), .. replacing ? ["--force"] : Array.Empty<string>()]);
        Assert.True(code == ToolCommands.BadInput, output + error);
        Assert.StartsWith("embedded-rnn import: error: ", error, StringComparison.Ordinal);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("wrote", output);
        Assert.Equal(replacing ? ["lstm.rnn.json", "lstm.safetensors"] : [], Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        if (replacing)
        {
            Assert.Equal("the old spec", File.ReadAllText(spec));
            Assert.Equal("the old weights", File.ReadAllText(weights));
        }

        Directory.Delete(weights + ".tmp");
        (code, output, error) = Run(["import", Reference("lstm_i1_h8_t5_b1"), "--name", "lstm", "--out", folder, "--golden", Reference("lstm_i1_h8_t5_b1"), .. replacing ? ["--force"] : Array.Empty<string>()]);
        Assert.True(code == 0, output + error);
        Assert.Equal(["lstm.rnn.json", "lstm.safetensors"], Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains("\"cell\": \"lstm\"", File.ReadAllText(spec));
        Assert.Equal(8, SafetensorsFile.Read(weights).GetTensor("weight_hh_l0").Shape[1]);
    }

    [Fact]
    public void ImportNamesAMisshapenTensor()
    {
        string file = Path.Combine(_temp, "bad.safetensors");
        new SafetensorsWriter()
            .Add("weight_ih_l0", new float[32 * 3], 32, 3).Add("weight_hh_l0", new float[32 * 8], 32, 8)
            .Add("bias_ih_l0", new float[32], 32).Add("bias_hh_l0", new float[31], 31).Save(file);
        var (code, _, error) = Run("import", file, "--name", "bad", "--out", _temp);
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("tensor 'bias_hh_l0' has shape [31]; a lstm (input 3, hidden 8, 1 layer, unidirectional, with bias) needs [32]", error);

        new SafetensorsWriter().Add("weight_ih_l0", new float[20 * 3], 20, 3).Add("weight_hh_l0", new float[20 * 8], 20, 8).Save(file);
        (code, _, error) = Run("inspect", file);
        Assert.Equal(0, code); // inspect still lists the tensors and says why no model fits
        (code, _, error) = Run("import", file, "--name", "bad", "--out", _temp, "--force");
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("'weight_hh_l0' has shape [20, 8]: its rows must be 1, 3 or 4 times the hidden size 8", error);
    }

    [Fact]
    public void ImportRefusesTopLevelTensorsNamedAsRecurrentParametersThatTheModelWouldLeaveOut()
    {
        // A top-level state_dict has no prefix to tell strays by: these imported quietly, the first as a model without
        // bias (bias_hh_l0 dropped), the second as one layer (layer 2 dropped), the third without its reverse weight.
        string file = Path.Combine(_temp, "top.safetensors");
        SafetensorsWriter Layer0() => new SafetensorsWriter().Add("weight_ih_l0", new float[8 * 3], 8, 3).Add("weight_hh_l0", new float[8 * 8], 8, 8);
        Layer0().Add("bias_hh_l0", new float[8], 8).Save(file);
        var (code, _, error) = Run("import", file, "--name", "top", "--out", _temp);
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("no tensor 'bias_ih_l0' of shape [8], which a rnn (input 3, hidden 8, 1 layer, unidirectional, with bias) needs", error);

        Layer0().Add("weight_ih_l2", new float[8 * 8], 8, 8).Add("weight_hh_l2", new float[8 * 8], 8, 8).Save(file);
        (code, _, error) = Run("import", file, "--name", "top", "--out", _temp);
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("is for layer 2, but the file has no 'weight_ih_l1': layers must be numbered 0, 1, … without gaps", error);

        Layer0().Add("weight_hh_l0_reverse", new float[8 * 8], 8, 8).Save(file);
        (code, _, error) = Run("import", file, "--name", "top", "--out", _temp);
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("tensor 'weight_hh_l0_reverse' is named as a recurrent parameter but is not one of a rnn (input 3, hidden 8, 1 layer, unidirectional, without bias)", error);
        Assert.False(File.Exists(Path.Combine(_temp, "top.rnn.json")));
    }

    [Fact]
    public void ATensorOfAnySizeIsIgnoredUnlessTheModelUsesIt()
    {
        // Every tensor's sizes used to be converted to int, so an unused [10^12, 0] tensor crashed inspect and import.
        string file = Path.Combine(_temp, "huge.safetensors");
        new SafetensorsWriter().Add("weight_ih_l0", new float[8 * 3], 8, 3).Add("weight_hh_l0", new float[8 * 8], 8, 8)
            .Add("notes", ReadOnlySpan<float>.Empty, 1_000_000_000_000, 0).Save(file);
        var (code, output, error) = Run("inspect", file);
        Assert.True(code == 0, error);
        Assert.Contains("model: rnn (input 3, hidden 8, 1 layer, unidirectional, without bias)", output);

        new SafetensorsWriter().Add("weight_ih_l0", ReadOnlySpan<float>.Empty, 3_000_000_000, 0).Add("weight_hh_l0", new float[8 * 8], 8, 8).Save(file);
        (code, _, error) = Run("import", file, "--name", "huge", "--out", _temp);
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("tensor 'weight_ih_l0' has shape [3000000000, 0]: a size above 2147483647 cannot be a model's", error);
    }

    [Fact]
    public void ExportWritesThePyTorchModulesStateDict()
    {
        string spec = WriteGestureSpec();
        string output = Path.Combine(_temp, "torch.safetensors");
        var (code, text, error) = Run("export", ProcessRunner.Data("gesture.safetensors"), "--spec", spec, "--out", output, "--prefix", "lstm.", "--head-prefix", "fc.", "--python");
        Assert.True(code == 0, text + error);
        // gesture.module.safetensors is PyTorch's own state_dict of that module: same names, shapes and values.
        AssertSameTensors(SafetensorsFile.Read(ProcessRunner.Data("gesture.module.safetensors")), SafetensorsFile.Read(output));
        Assert.Contains("self.lstm = torch.nn.LSTM(6, 32, num_layers=2)", text);
        Assert.Contains("self.fc = torch.nn.Linear(32, 4)", text);
        Assert.Contains("model.load_state_dict(load_file(\"torch.safetensors\"), strict=True)", text);

        (code, _, error) = Run("export", Reference("lstm_i1_h8_t5_b1"), "--spec", spec, "--out", Path.Combine(_temp, "x.safetensors"));
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("lstm_i1_h8_t5_b1.safetensors does not fit gesture.rnn.json", error);
        Assert.Contains("weight_ih_l0", error);

        // Not over its own input, even with --force.
        string weights = Path.Combine(_temp, "gesture.safetensors");
        File.Copy(ProcessRunner.Data("gesture.safetensors"), weights);
        (code, _, error) = Run("export", weights, "--spec", spec, "--out", weights, "--force");
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains($"--out is the weights file ({weights}), or writes its temporary over it; write it elsewhere.", error);
        Assert.Equal(File.ReadAllBytes(ProcessRunner.Data("gesture.safetensors")), File.ReadAllBytes(weights));
    }

    [Fact]
    public void ExportWritesTheWeightsAnInt8ModelComputesWithAndTrainRefusesIt()
    {
        string spec = Path.Combine(_temp, "int8.rnn.json");
        File.WriteAllText(spec, "{\"cell\": \"lstm\", \"input\": 1, \"hidden\": 8, \"precision\": \"int8\"}");
        var original = SafetensorsFile.Read(Reference("lstm_i1_h8_t5_b1"));
        var names = new[] { "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0" };
        var stored = new SafetensorsWriter();
        foreach (string name in names)
        {
            stored.Add(name, original.ReadAsSingle(name), [.. original.GetTensor(name).Shape]);
        }

        string weights = Path.Combine(_temp, "float32.safetensors");
        stored.Save(weights);
        string output = Path.Combine(_temp, "torch.safetensors");
        var (code, text, error) = Run("export", weights, "--spec", spec, "--out", output);
        Assert.True(code == 0, text + error);
        var exported = SafetensorsFile.Read(output);
        foreach (string name in names)
        {
            var values = original.ReadAsSingle(name);
            var shape = original.GetTensor(name).Shape;
            if (shape.Count == 2)
            {
                // Each row rounded to its int8 grid (largest |w| / 127 per row), written as float32.
                int columns = (int)shape[1];
                for (int row = 0; row < shape[0]; row++)
                {
                    float scale = values.Skip(row * columns).Take(columns).Max(Math.Abs) / 127;
                    for (int j = row * columns; j < (row + 1) * columns; j++)
                    {
                        values[j] = scale * Math.Clamp(MathF.Round(values[j] / scale, MidpointRounding.ToEven), -127, 127);
                    }
                }
            }

            var got = exported.ReadAsSingle(name);
            Assert.All(values.Zip(got), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-6f * Math.Max(1f, Math.Abs(p.First)), $"{name}: {p.Second} against {p.First}"));
        }

        (code, _, error) = Run("train", WriteSineSeries(240), "--spec", spec, "--inputs", "y", "--targets", "y", "--window", "12", "--horizon", "1", "--out", Path.Combine(_temp, "m.safetensors"));
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("int8.rnn.json: the spec's precision is int8: this command runs float32 models", error);
    }

    [Fact]
    public void ExportRefusesTheResetBeforeGruWhichPyTorchCannotRun()
    {
        string spec = Path.Combine(_temp, "before.rnn.json");
        File.WriteAllText(spec, "{\"cell\": \"gru\", \"reset\": \"before\", \"input\": 5, \"hidden\": 12}");
        string output = Path.Combine(_temp, "torch.safetensors");
        var (code, _, error) = Run("export", Reference("gru_before_i5_h12_t7_b3"), "--spec", spec, "--out", output);
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("before.rnn.json is a gru (reset before) cell, which PyTorch has no module for", error);
        Assert.False(File.Exists(output));
    }

    [Theory]
    [InlineData("rnn_relu_i8_h32_t20_b2", "relu", "torch.nn.RNN(8, 32, nonlinearity=\"relu\")")]
    [InlineData("rnn_tanh_i8_h32_t20_b2", "tanh", "torch.nn.RNN(8, 32)")]
    public void ExportBuildsTheRnnWithTheSpecsNonlinearity(string stem, string activation, string module)
    {
        // The cell kind is "rnn (relu)", not "rnn": a relu RNN used to be printed as tanh's module.
        string spec = Path.Combine(_temp, activation + ".rnn.json");
        File.WriteAllText(spec, $"{{\"cell\": \"rnn\", \"activation\": \"{activation}\", \"input\": 8, \"hidden\": 32}}");
        var reference = SafetensorsFile.Read(Reference(stem)); // export takes the model's tensors only, not the reference's runs
        var weights = new SafetensorsWriter();
        foreach (string name in new[] { "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0" })
        {
            weights.Add(name, reference.ReadAsSingle(name), [.. reference.GetTensor(name).Shape]);
        }

        string file = Path.Combine(_temp, stem + ".safetensors");
        weights.Save(file);
        var (code, text, error) = Run("export", file, "--spec", spec, "--out", Path.Combine(_temp, "torch.safetensors"), "--python");
        Assert.True(code == 0, text + error);
        Assert.Contains($"model = {module}{Environment.NewLine}", text);
    }

    [Fact]
    public void ExportRefusesTheLeakyReluRnnWhichPyTorchCannotRun()
    {
        string spec = Path.Combine(_temp, "leaky.rnn.json");
        File.WriteAllText(spec, "{\"cell\": \"rnn\", \"activation\": \"leaky_relu\", \"negative_slope\": 0.2, \"input\": 8, \"hidden\": 32}");
        string output = Path.Combine(_temp, "torch.safetensors");
        var (code, _, error) = Run("export", Reference("rnn_relu_i8_h32_t20_b2"), "--spec", spec, "--out", output, "--python");
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("leaky.rnn.json is a rnn (leaky_relu) cell, which PyTorch has no module for: torch.nn.RNN's nonlinearity is tanh or relu only", error);
        Assert.False(File.Exists(output));
    }

    [Theory]
    [InlineData(int.MaxValue, 1)]
    [InlineData(int.MaxValue - 2, 1)]
    [InlineData(7, 3)]
    public void TrainsStrideMayBeAnyPositiveInt(int stride, int sequences)
    {
        // The next window's start, start + stride, used to wrap past int.MaxValue to a negative row.
        var table = Embedded.Rnn.Training.CsvTable.Parse(new StringReader("y\n" + string.Concat(Enumerable.Range(0, 20).Select(i => $"{i}\n"))), "t.csv");
        var examples = CsvSequences.Build(table, ["y"], ["y"], new RnnShape("gru", 1, 4, 1, 1, 1), window: 4, stride, horizon: 1, sequenceToSequence: false, classIndex: false);
        Assert.Equal(sequences, examples.Count);
        Assert.Equal([0f, 1f, 2f, 3f], examples[0].Inputs.ToArray());
    }

    [Fact]
    public void AnEmptyGoldenRunIsRefused()
    {
        // 0 steps or 0 sequences compared nothing and passed.
        var reference = SafetensorsFile.Read(Reference("lstm_i1_h8_t5_b1"));
        foreach (long[] empty in new[] { new long[] { 0, 1, 1 }, [5, 0, 1] })
        {
            string golden = Path.Combine(_temp, "empty.golden.safetensors");
            new SafetensorsWriter().Add("input", ReadOnlySpan<float>.Empty, empty).Add("output", ReadOnlySpan<float>.Empty, [empty[0], empty[1], 8]).Save(golden);
            var (code, output, error) = Run("import", Reference("lstm_i1_h8_t5_b1"), "--name", "empty", "--out", _temp, "--golden", golden, "--force");
            Assert.True(code == ToolCommands.BadInput, output + error);
            Assert.Contains($"golden 'input' has {empty[0]} steps × {empty[1]} sequences: a golden run needs at least one step of one sequence", error);
            Assert.False(File.Exists(Path.Combine(_temp, "empty.rnn.json")));
        }

        Assert.Equal(8, reference.GetTensor("output").Shape[^1]); // the output width written above
    }

    [Fact]
    public void TrainLearnsToForecastASeriesFromCsv()
    {
        // One series, windows of 12 rows, target = the next row: y(t+1) from y(t-11..t) on sin(0.3 t).
        string data = WriteSineSeries(240);
        string spec = Path.Combine(_temp, "series.rnn.json");
        File.WriteAllText(spec, "{ \"cell\": \"gru\", \"input\": 1, \"hidden\": 8, \"head\": { \"output\": 1 } }");
        string weights = Path.Combine(_temp, "series.safetensors");
        var (code, output, error) = Run("train", data, "--spec", spec, "--inputs", "y", "--targets", "y", "--window", "12", "--horizon", "1",
            "--epochs", "60", "--learning-rate", "0.02", "--batch-size", "16", "--seed", "7", "--out", weights);
        Assert.True(code == 0, output + error);
        Assert.Contains("data: 240 rows -> 228 sequences of 12 steps", output);

        // The trained weights load into the spec's model and forecast held-out steps of the series.
        using var compiled = ModelCompiler.CompileFile(spec);
        var model = compiled.FromSafetensors(SafetensorsFile.Read(weights));
        double worst = 0;
        for (int start = 300; start < 340; start++)
        {
            var window = Enumerable.Range(start, 12).Select(t => (float)Math.Sin(0.3 * t)).ToArray();
            float forecast = compiled.Run(model, window, null, null)[^1];
            worst = Math.Max(worst, Math.Abs(forecast - Math.Sin(0.3 * (start + 12))));
        }

        Assert.True(worst < 0.1, $"largest forecast error {worst:F3} on unseen windows (amplitude 1)\n{output}");
    }

    [Fact]
    public void TrainNamesTheLineAndColumnOfABadCsvValue()
    {
        string data = Path.Combine(_temp, "bad.csv");
        File.WriteAllText(data, "a,b\n1,2\n3,4\n5,x\n7,8\n");
        string spec = WriteSmallGruSpec();
        var (code, _, error) = Run("train", data, "--spec", spec, "--targets", "b", "--window", "2", "--out", Path.Combine(_temp, "m.safetensors"));
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("bad.csv, line 4, column 2", error);
        Assert.False(File.Exists(Path.Combine(_temp, "m.safetensors")));
    }

    [Theory]
    [InlineData("--window", "two", "Cannot parse argument 'two' for option '--window'")]
    [InlineData("--window", "0", "--window must be at least 1 (got 0).")]
    [InlineData("--epochs", "1e3", "Cannot parse argument '1e3' for option '--epochs'")]
    [InlineData("--learning-rate", "fast", "Cannot parse argument 'fast' for option '--learning-rate'")]
    [InlineData("--learning-rate", "-1", "--learning-rate must be a positive number (got -1).")]
    [InlineData("--validation", "half", "Cannot parse argument 'half' for option '--validation'")]
    [InlineData("--clip", "0", "--clip must be a positive number (got 0).")]
    [InlineData("--clip", "-1", "--clip must be a positive number (got -1).")]
    [InlineData("--patience", "0", "--patience must be at least 1 (got 0).")]
    public void TrainReportsAMistypedNumberInOneLineWithExitCode1(string option, string value, string message)
    {
        string data = Path.Combine(_temp, "series.csv");
        File.WriteAllText(data, "a,b\n1,2\n3,4\n5,6\n7,8\n");
        string spec = WriteSmallGruSpec();
        string[] window = option == "--window" ? [] : ["--window", "2"];
        var (code, output, error) = Run(["train", data, "--spec", spec, "--targets", "b", .. window, option, value, "--out", Path.Combine(_temp, "m.safetensors")]);
        Assert.Equal(1, code); // README: 1 for bad arguments
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal([message], lines.Select(line => line.StartsWith(message, StringComparison.Ordinal) ? message : line));
        Assert.DoesNotContain("Usage:", output + error);
        Assert.DoesNotContain("Exception", output + error);
        Assert.False(File.Exists(Path.Combine(_temp, "m.safetensors")));
    }

    [Fact]
    public void AnUnexpectedErrorExitsWith3AndIsPrintedWhole()
    {
        // It exited with 1, the code of a failed golden check, so a script could take a crash for a verdict.
        var command = new System.CommandLine.Command("boom");
        command.SetGuardedAction((_, _) => throw new InvalidOperationException("a bug"));
        var error = new StringWriter();
        int code = new System.CommandLine.RootCommand { command }.Parse(["boom"])
            .Invoke(new System.CommandLine.InvocationConfiguration { Output = new StringWriter(), Error = error });
        Assert.Equal(3, ToolCommands.UnexpectedError);
        Assert.Equal(ToolCommands.UnexpectedError, code);
        Assert.StartsWith("embedded-rnn boom: unexpected error, please report it with what follows: System.InvalidOperationException: a bug", error.ToString(), StringComparison.Ordinal);
        Assert.Contains(" at ", error.ToString(), StringComparison.Ordinal); // the stack trace
    }

    [Fact]
    public void TrainInterruptedByCtrlCResumesToTheWeightsOfAnUninterruptedRun()
    {
        string data = WriteSineSeries(600);
        string spec = WriteSmallGruSpec();
        string[] training = ["train", data, "--spec", spec, "--inputs", "y", "--targets", "y", "--window", "12", "--horizon", "1",
            "--epochs", "40", "--batch-size", "8", "--learning-rate", "0.01", "--seed", "3", "--checkpoint-every", "25"];
        string whole = Path.Combine(_temp, "whole.safetensors");
        var (code, output, error) = Run([.. training, "--out", whole]);
        Assert.True(code == 0, output + error);

        // The real tool in its own process, stopped with SIGINT once it has printed epoch 2's line (lines come as epochs end).
        string checkpoint = Path.Combine(_temp, "run.ckpt");
        string resumed = Path.Combine(_temp, "resumed.safetensors");
        var interrupted = ToolProcess.RunUntil([.. training, "--checkpoint", checkpoint, "--out", resumed], line => line.StartsWith("epoch 2/40:", StringComparison.Ordinal),
            startOver: () =>
            {
                File.Delete(checkpoint);
                File.Delete(resumed);
            });
        Assert.True(interrupted.ExitCode == ToolCommands.Interrupted, interrupted.ToString());
        Assert.Contains($"progress saved in {checkpoint}: run the same command with --resume to continue", interrupted.Output);
        Assert.DoesNotContain("epoch 40/40", interrupted.Output);
        Assert.False(File.Exists(resumed));

        (code, output, error) = Run([.. training, "--checkpoint", checkpoint, "--resume", "--out", resumed]);
        Assert.True(code == 0, output + error);
        Assert.Contains($"resuming from {checkpoint}", output);
        Assert.Contains("epoch 40/40", output);
        Assert.DoesNotContain("epoch 1/40", output);
        Assert.Equal(File.ReadAllBytes(whole), File.ReadAllBytes(resumed));
    }

    [Fact]
    public void TrainChecksItsOutputPathsBeforeTraining()
    {
        string data = WriteSineSeries(40);
        string spec = WriteSmallGruSpec();
        string[] training = ["train", data, "--spec", spec, "--targets", "y", "--window", "4", "--epochs", "1"];

        string folder = Directory.CreateDirectory(Path.Combine(_temp, "weights")).FullName;
        var (code, output, error) = Run([.. training, "--out", folder]);
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains($"--out {folder} is a folder; give the path of the file to write.", error);
        Assert.False(File.Exists(folder + ".tmp"));
        Assert.DoesNotContain("epoch", output); // refused before training

        // /proc refuses new files even to root, as a read-only folder refuses a user.
        (code, output, error) = Run([.. training, "--out", "/proc/self/trained.safetensors"]);
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("--out /proc/self/trained.safetensors: cannot write files in /proc/self", error);
        Assert.DoesNotContain("epoch", output);

        string checkpoint = Path.Combine(_temp, "old.ckpt");
        File.WriteAllText(checkpoint, "an earlier run's");
        (code, _, error) = Run([.. training, "--checkpoint", checkpoint, "--out", Path.Combine(_temp, "m.safetensors")]);
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains($"{checkpoint} exists; pass --resume to continue from it, or --force to start over.", error);

        (code, _, error) = Run([.. training, "--resume", "--out", Path.Combine(_temp, "m.safetensors")]);
        Assert.Equal(1, code);
        Assert.Contains("--resume needs --checkpoint", error);

        // One file in two roles: the weights written over the checkpoint left nothing to resume, a checkpoint's rename
        // over the log dropped every line, and --force let the weights replace the data.
        string run = Path.Combine(_temp, "run.bin"), start = Path.Combine(_temp, "start.safetensors");
        File.WriteAllText(start, "the user's starting weights");
        foreach (var (paths, message) in new (string[], string)[]
        {
            (["--out", Path.Combine(_temp, "m.safetensors"), "--checkpoint", start, "--weights", start, "--force"], $"--checkpoint is the starting weights ({start}), or writes its temporary over it; write it elsewhere."),
            (["--out", run, "--checkpoint", run], $"--out and --checkpoint are the same file, or one is the other's temporary ({run}, {run}); give each its own."),
            (["--out", Path.Combine(_temp, "m.safetensors"), "--checkpoint", run, "--log", Path.Combine(_temp, ".", "run.bin")], $"--checkpoint and --log are the same file, or one is the other's temporary ({run}, {run}); give each its own."),
            (["--out", run, "--log", run + ".tmp"], $"--out and --log are the same file, or one is the other's temporary ({run}, {run}.tmp); give each its own."),
            (["--out", data, "--force"], $"--out is the data ({data}), or writes its temporary over it; write it elsewhere."),
            (["--out", Path.Combine(_temp, "m.safetensors"), "--log", spec], $"--log is the spec ({spec}), or writes its temporary over it; write it elsewhere."),
        })
        {
            (code, output, error) = Run([.. training, .. paths]);
            Assert.Equal(ToolCommands.BadInput, code);
            Assert.Contains(message, error);
            Assert.DoesNotContain("epoch", output);
        }

        Assert.False(File.Exists(run));
    }

    [Fact]
    public void AFailedRunLeavesNoNewFolderAndASuccessfulOneCreatesIt()
    {
        // The folders of --out, --checkpoint and --log were created by the check made before any work, so a run that
        // then failed ("nothing was written") left empty folders behind.
        string data = Path.Combine(_temp, "ragged.csv");
        File.WriteAllText(data, "a,b\n1,2\n3\n5,6\n");
        string spec = WriteSmallGruSpec();
        string fresh = Path.Combine(_temp, "new");
        var (code, output, error) = Run("train", data, "--spec", spec, "--targets", "b", "--window", "2", "--out", Path.Combine(fresh, "out", "w.safetensors"),
            "--checkpoint", Path.Combine(fresh, "ckpt", "run.ckpt"), "--log", Path.Combine(fresh, "log", "log.csv"));
        Assert.True(code == ToolCommands.BadInput, output + error);
        Assert.Contains("ragged.csv, line 3", error);
        Assert.False(Directory.Exists(fresh));

        (code, output, error) = Run("import", Reference("rnn_relu_i1_h8_t5_b1"), "--name", "relu", "--out", Path.Combine(fresh, "models"), "--golden", Reference("rnn_relu_i1_h8_t5_b1"));
        Assert.True(code == ToolCommands.CheckFailed, output + error);
        Assert.Contains("Nothing was written", error);
        Assert.False(Directory.Exists(fresh));

        // A run that writes makes the folders it writes in.
        (code, output, error) = Run("import", Reference("lstm_i1_h8_t5_b1"), "--name", "lstm", "--out", Path.Combine(fresh, "models"), "--golden", Reference("lstm_i1_h8_t5_b1"));
        Assert.True(code == 0, output + error);
        Assert.True(File.Exists(Path.Combine(fresh, "models", "lstm.rnn.json")));
        Assert.True(File.Exists(Path.Combine(fresh, "models", "lstm.safetensors")));
        string lstmSpec = Path.Combine(fresh, "models", "lstm.rnn.json");

        // A file where a folder of the path should be is named, and nothing is made either.
        File.WriteAllText(Path.Combine(_temp, "plain"), string.Empty);
        (code, _, error) = Run("export", Path.Combine(fresh, "models", "lstm.safetensors"), "--spec", lstmSpec, "--out", Path.Combine(_temp, "plain", "sub", "x.safetensors"));
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains($"--out {Path.Combine(_temp, "plain", "sub", "x.safetensors")}: {Path.Combine(_temp, "plain")} is a file, not a folder.", error);

        // export and train make theirs too (train: the folders of --checkpoint and --log as well).
        (code, output, error) = Run("export", Path.Combine(fresh, "models", "lstm.safetensors"), "--spec", lstmSpec, "--out", Path.Combine(fresh, "torch", "x.safetensors"));
        Assert.True(code == 0, output + error);
        Assert.True(File.Exists(Path.Combine(fresh, "torch", "x.safetensors")));
        data = WriteSineSeries(40);
        (code, output, error) = Run("train", data, "--spec", spec, "--targets", "y", "--window", "4", "--epochs", "1", "--out", Path.Combine(fresh, "out", "w.safetensors"),
            "--checkpoint", Path.Combine(fresh, "ckpt", "run.ckpt"), "--log", Path.Combine(fresh, "log", "log.csv"));
        Assert.True(code == 0, output + error);
        Assert.True(File.Exists(Path.Combine(fresh, "out", "w.safetensors")));
        Assert.True(File.Exists(Path.Combine(fresh, "ckpt", "run.ckpt")));
        Assert.True(File.Exists(Path.Combine(fresh, "log", "log.csv")));
    }

    [Fact]
    public void ADamagedCheckpointIsNamedWhenResuming()
    {
        // The trainer's reader said "safetensors header length ... does not fit" without saying which file it read.
        string data = WriteSineSeries(40);
        string spec = WriteSmallGruSpec();
        string checkpoint = Path.Combine(_temp, "run.ckpt");
        string weights = Path.Combine(_temp, "m.safetensors");
        foreach (string contents in new[] { "not a checkpoint at all", string.Empty })
        {
            File.WriteAllText(checkpoint, contents);
            var (code, output, error) = Run("train", data, "--spec", spec, "--targets", "y", "--window", "4", "--epochs", "1", "--checkpoint", checkpoint, "--resume", "--out", weights);
            Assert.True(code == ToolCommands.BadInput, output + error);
            Assert.StartsWith($"embedded-rnn train: error: checkpoint '{checkpoint}': ", error, StringComparison.Ordinal);
            Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.DoesNotContain("epoch 1/1", output);
            Assert.False(File.Exists(weights));
            Assert.Equal(contents, File.ReadAllText(checkpoint)); // left as it was
        }
    }

    [Fact]
    public void TrainSaysWhenTheValidationSplitIsEmpty()
    {
        string data = WriteSineSeries(12); // windows of 4: 9 sequences, and ⌊0.1 × 9⌋ = 0 held out
        string spec = WriteSmallGruSpec();
        string weights = Path.Combine(_temp, "m.safetensors");
        string[] training = ["train", data, "--spec", spec, "--targets", "y", "--window", "4", "--epochs", "2", "--out", weights];

        var (code, output, error) = Run([.. training, "--patience", "3"]);
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("--patience needs validation loss, but --validation 0.1 of 9 sequences holds out none (it needs at least 10 sequences)", error);
        Assert.False(File.Exists(weights));

        (code, _, error) = Run([.. training, "--patience", "3", "--validation", "0"]);
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("--patience needs validation loss, but --validation 0 holds out no sequence;", error);

        (code, output, error) = Run(training);
        Assert.True(code == 0, output + error);
        Assert.Contains("warning: --validation 0.1 of 9 sequences holds out none (it needs at least 10 sequences); no validation loss is computed.", output);
        Assert.Contains("epoch 2/2: training loss ", output);
        Assert.DoesNotContain("NaN", output);
    }

    [Fact]
    public void TrainExplainsDivergenceWithTheToolsOptions()
    {
        string data = WriteSineSeries(80);
        string spec = WriteSmallGruSpec();
        string checkpoint = Path.Combine(_temp, "diverge.ckpt");
        var (code, output, error) = Run("train", data, "--spec", spec, "--targets", "y", "--window", "4", "--epochs", "3", "--optimizer", "sgd",
            "--learning-rate", "1e30", "--checkpoint", checkpoint, "--checkpoint-every", "1", "--out", Path.Combine(_temp, "m.safetensors"));
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Matches(@"^embedded-rnn train: error: training diverged in epoch 1/3, batch \d+: the (loss|gradient) is not finite\. ", error);
        Assert.Contains($"Nothing was written; {checkpoint} still holds the last checkpoint before it", error);
        Assert.Contains("Try a lower --learning-rate (now 1E+30) or --clip 1.", error);
        Assert.DoesNotContain("ClipGradientNorm", error);
        Assert.False(File.Exists(Path.Combine(_temp, "m.safetensors")));
        var last = SafetensorsFile.Read(checkpoint);
        Assert.All(last.Tensors, t => Assert.All(last.ReadAsSingle(t.Name), v => Assert.True(float.IsFinite(v))));

        (code, _, error) = Run("train", data, "--spec", spec, "--targets", "y", "--window", "4", "--epochs", "3", "--optimizer", "sgd",
            "--learning-rate", "1e30", "--clip", "5", "--out", Path.Combine(_temp, "m.safetensors"));
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("Nothing was written. Try a lower --learning-rate (now 1E+30) or a smaller --clip (now 5).", error);
    }

    [Fact]
    public void TrainClassifiesWithAClassIndexColumn()
    {
        // Sequence-to-one classification: the label of a 4-row window is 1 when its last value is positive.
        var random = new Random(5);
        var values = Enumerable.Range(0, 400).Select(_ => random.NextDouble() * 2 - 1).ToArray();
        string data = Path.Combine(_temp, "sign.csv");
        File.WriteAllLines(data, ["x,label", .. values.Select(v => string.Create(CultureInfo.InvariantCulture, $"{v:R},{(v > 0 ? 1 : 0)}"))]);
        string spec = Path.Combine(_temp, "sign.rnn.json");
        File.WriteAllText(spec, "{ \"cell\": \"gru\", \"input\": 1, \"hidden\": 6, \"head\": { \"output\": 2, \"activation\": \"softmax\" } }");
        string weights = Path.Combine(_temp, "sign.safetensors");
        var (code, output, error) = Run("train", data, "--spec", spec, "--inputs", "x", "--targets", "label", "--loss", "cross-entropy",
            "--window", "4", "--epochs", "40", "--learning-rate", "0.03", "--batch-size", "16", "--out", weights);
        Assert.True(code == 0, output + error);

        using var compiled = ModelCompiler.CompileFile(spec);
        var model = compiled.FromSafetensors(SafetensorsFile.Read(weights));
        var fresh = new Random(6);
        int right = 0;
        for (int n = 0; n < 200; n++)
        {
            var window = Enumerable.Range(0, 4).Select(_ => (float)(fresh.NextDouble() * 2 - 1)).ToArray();
            var probabilities = compiled.Run(model, window, null, null)[^2..];
            right += (probabilities[1] > probabilities[0]) == (window[^1] > 0) ? 1 : 0;
        }

        Assert.True(right >= 180, $"{right}/200 unseen windows classified correctly\n{output}");

        File.AppendAllText(data, "0.5,2\n"); // a class index beyond the head's 2 outputs, on the file's last line (402)
        (code, _, error) = Run("train", data, "--spec", spec, "--targets", "label", "--inputs", "x", "--loss", "cross-entropy", "--window", "4",
            "--out", Path.Combine(_temp, "other.safetensors"));
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("sign.csv, line 402, column 2: 'label' is 2; a class index must be an integer from 0 to 1.", error);
    }

    [Fact]
    public void TrainShowsTheGeneratorsDiagnosticForABrokenSpec()
    {
        string spec = Path.Combine(_temp, "broken.rnn.json");
        File.WriteAllText(spec, "{ \"cell\": \"lstn\", \"input\": 1, \"hidden\": 4 }");
        string data = Path.Combine(_temp, "d.csv");
        File.WriteAllText(data, "x,y\n1,2\n3,4\n");
        var (code, _, error) = Run("train", data, "--spec", spec, "--targets", "y", "--window", "1", "--out", Path.Combine(_temp, "o.safetensors"));
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains($"{spec}(1,11): error ERNN003: Unknown cell 'lstn'", error);
    }

    [Fact]
    public void BadArgumentsGiveClearErrors()
    {
        string spec = WriteGestureSpec();
        var (code, _, error) = Run("inspect", Path.Combine(_temp, "missing.safetensors"));
        Assert.NotEqual(0, code);
        Assert.Contains("File does not exist", error);
        Assert.Contains("missing.safetensors", error);

        string notSafetensors = Path.Combine(_temp, "notes.safetensors");
        File.WriteAllText(notSafetensors, "not a safetensors file");
        (code, _, error) = Run("inspect", notSafetensors);
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("notes.safetensors:", error);

        (code, _, error) = Run("train", spec, "--spec", spec, "--window", "4", "--out", "x.safetensors");
        Assert.NotEqual(0, code);
        Assert.Contains("--targets", error);
        Assert.Contains("required", error, StringComparison.OrdinalIgnoreCase);

        (code, _, error) = Run("train", spec, "--spec", spec, "--targets", "y", "--window", "0", "--out", "x.safetensors");
        Assert.NotEqual(0, code);
        Assert.Contains("--window must be at least 1 (got 0)", error);

        (code, _, error) = Run("train", spec, "--spec", spec, "--targets", "y", "--window", "3", "--loss", "hinge", "--out", "x.safetensors");
        Assert.NotEqual(0, code);
        Assert.Contains("hinge", error);
        Assert.Contains("cross-entropy", error);

        (code, _, error) = Run("import", ProcessRunner.Data("gesture.safetensors"), "--name", "../escape");
        Assert.NotEqual(0, code);
        Assert.Contains("--name must be a plain file name", error);

        (code, _, error) = Run("import", Reference("lstm_i1_h8_t5_b1"), "--name", "l", "--out", _temp, "--activation", "relu");
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("--activation is for rnn cells; these weights are an lstm", error);

        (code, _, error) = Run("fit");
        Assert.NotEqual(0, code);
        Assert.Contains("fit", error);
    }

    [Fact]
    public void NonFiniteWeightsAreRefusedByEveryCommand()
    {
        // The reference LSTM's parameters with weight_hh_l0 [32, 8] holding NaN at flat index 29, i.e. [3, 5].
        var reference = SafetensorsFile.Read(Reference("lstm_i1_h8_t5_b1"));
        var writer = new SafetensorsWriter();
        foreach (string name in new[] { "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0" })
        {
            var values = reference.ReadAsSingle(name);
            if (name == "weight_hh_l0")
            {
                values[29] = float.NaN;
            }

            writer.Add(name, values, reference.GetTensor(name).Shape.ToArray());
        }

        string weights = Path.Combine(_temp, "nan.safetensors");
        writer.Save(weights);
        const string Problem = "tensor 'weight_hh_l0' holds NaN at index 29 ([3, 5] in shape [32, 8])";

        // inspect still shows the whole file, marks the tensor and says why, then exits as for bad input.
        var (code, output, error) = Run("inspect", weights);
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("weight_hh_l0  F32  [32, 8]  NOT FINITE", output);
        Assert.Contains("non-finite: " + Problem, output);
        Assert.Contains("{ \"cell\": \"lstm\", \"input\": 1, \"hidden\": 8 }", output);
        Assert.Contains("nan.safetensors holds NaN or infinite values in 1 tensor (listed above)", error);

        (code, _, error) = Run("import", weights, "--name", "imported", "--out", _temp);
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains(Problem, error);
        Assert.False(File.Exists(Path.Combine(_temp, "imported.rnn.json")));

        string spec = Path.Combine(_temp, "lstm.rnn.json");
        File.WriteAllText(spec, "{ \"cell\": \"lstm\", \"input\": 1, \"hidden\": 8 }");
        (code, _, error) = Run("export", weights, "--spec", spec, "--out", Path.Combine(_temp, "torch.safetensors"));
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("nan.safetensors does not fit lstm.rnn.json: " + Problem, error);
        Assert.False(File.Exists(Path.Combine(_temp, "torch.safetensors")));

        string data = Path.Combine(_temp, "d.csv");
        File.WriteAllLines(data, ["x,a,b,c,d,e,f,g,h", "1,0,0,0,0,0,0,0,0", "2,0,0,0,0,0,0,0,0", "3,0,0,0,0,0,0,0,0"]); // 8 targets: no head
        (code, _, error) = Run("train", data, "--spec", spec, "--inputs", "x", "--targets", "a,b,c,d,e,f,g,h", "--window", "2", "--weights", weights,
            "--out", Path.Combine(_temp, "o.safetensors"));
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("nan.safetensors: " + Problem, error);
    }

    [Fact]
    public void ADirectoryGivenAsWeightsIsNamedAsADirectory()
    {
        string directory = Directory.CreateDirectory(Path.Combine(_temp, "weights.safetensors")).FullName;
        var (code, _, error) = Run("inspect", directory);
        Assert.NotEqual(0, code); // a bad argument, like a missing file
        Assert.Contains($"{directory} is a directory, not a safetensors, ONNX or Keras file.", error);
        Assert.DoesNotContain("denied", error);

        (code, _, error) = Run("import", directory, "--name", "d", "--out", _temp);
        Assert.Contains($"{directory} is a directory, not a safetensors, ONNX or Keras file.", error);

        (code, _, error) = Run("import", Reference("lstm_i1_h8_t5_b1"), "--name", "d", "--out", _temp, "--golden", directory);
        Assert.NotEqual(0, code);
        Assert.Contains($"{directory} is a directory, not a safetensors file.", error);

        (code, _, error) = Run("export", directory, "--spec", directory, "--out", Path.Combine(_temp, "x.safetensors"));
        Assert.NotEqual(0, code);
        Assert.Contains($"{directory} is a directory, not a safetensors file.", error);
        Assert.Contains($"{directory} is a directory, not a file.", error); // --spec
    }

    [Fact]
    public void HelpDescribesEveryCommandAndOption()
    {
        var root = ToolCommands.Build();
        var (code, output, _) = Run("--help");
        Assert.Equal(0, code);
        Assert.Equal(["inspect", "import", "train", "export"], root.Subcommands.Select(c => c.Name));
        foreach (var command in root.Subcommands)
        {
            Assert.Contains(command.Name, output);
            var (subCode, help, _) = Run(command.Name, "--help");
            Assert.Equal(0, subCode);
            Assert.False(string.IsNullOrWhiteSpace(command.Description));
            foreach (var option in command.Options.Where(o => o is not System.CommandLine.Help.HelpOption))
            {
                Assert.False(string.IsNullOrWhiteSpace(option.Description), $"{command.Name} {option.Name} has no description");
                Assert.Contains(option.Name, help);
                Assert.Contains(option.Description!.Split(' ')[0], help);
            }

            foreach (var argument in command.Arguments)
            {
                Assert.False(string.IsNullOrWhiteSpace(argument.Description), $"{command.Name} <{argument.Name}> has no description");
                Assert.Contains($"<{argument.Name}>", help);
            }
        }
    }

    private static string Reference(string stem) => Path.Combine(AppContext.BaseDirectory, "refs", stem.Length == 0 ? string.Empty : stem + ".safetensors");

    // Columns t,y with y = sin(0.3 t), one row per step.
    private string WriteSineSeries(int rows)
    {
        string data = Path.Combine(_temp, $"sine{rows}.csv");
        File.WriteAllLines(data, ["t,y", .. Enumerable.Range(0, rows).Select(t => string.Create(CultureInfo.InvariantCulture, $"{t},{Math.Sin(0.3 * t):R}"))]);
        return data;
    }

    // A GRU (1 input, 4 hidden, one output) for the train command's argument and CSV checks.
    private string WriteSmallGruSpec()
    {
        string spec = Path.Combine(_temp, "m.rnn.json");
        File.WriteAllText(spec, "{ \"cell\": \"gru\", \"input\": 1, \"hidden\": 4, \"head\": { \"output\": 1 } }");
        return spec;
    }

    private string WriteGestureSpec()
    {
        string spec = Path.Combine(_temp, "gesture.rnn.json");
        File.WriteAllText(spec, Readme.QuickStartBlock("spec"));
        return spec;
    }

    private static void AssertSameTensors(SafetensorsFile expected, SafetensorsFile actual)
    {
        Assert.Equal(expected.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal), actual.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var tensor in expected.Tensors)
        {
            Assert.Equal(tensor.Shape, actual.GetTensor(tensor.Name).Shape);
            Assert.Equal(expected.ReadAsSingle(tensor.Name), actual.ReadAsSingle(tensor.Name));
        }
    }
}
