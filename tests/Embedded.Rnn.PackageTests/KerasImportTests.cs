using System.Globalization;
using System.Text.RegularExpressions;
using Embedded.Rnn.Import;
using Embedded.Rnn.Safetensors;
using Embedded.Rnn.Tool;
using Xunit;

using static Embedded.Rnn.PackageTests.InProcessTool;

namespace Embedded.Rnn.PackageTests;

/// <summary>
/// Keras import (issue 17 item 3) on the models of tests/keras, written by tests/keras/make_keras_models.py in Keras 3's
/// .keras layout and legacy Keras 2 HDF5, each with a golden run of a float64 NumPy implementation of Keras' equations
/// (TensorFlow is not installable here). Each supported model is imported by <c>embedded-rnn import --golden</c>;
/// <see cref="KerasImportNumericsTests"/> repeats the check on every kernel path. Each refusal names the layer and the setting.
/// </summary>
public sealed partial class KerasImportTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("embedded-rnn-keras-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    /// <summary>Each supported model (file name) and the spec its import must write (whitespace collapsed).</summary>
    public static TheoryData<string, string> SupportedModels => new()
    {
        { "lstm_i3_h5_dense_softmax.keras", "{ \"cell\": \"lstm\", \"input\": 3, \"hidden\": 5, \"head\": { \"output\": 4, \"activation\": \"softmax\" } }" },
        { "gru_after_i3_h6.keras", "{ \"cell\": \"gru\", \"input\": 3, \"hidden\": 6 }" },
        { "gru_before_i3_h6_l2_dense_sigmoid.keras", "{ \"cell\": \"gru\", \"reset\": \"before\", \"input\": 3, \"hidden\": 6, \"layers\": 2, \"head\": { \"output\": 2, \"activation\": \"sigmoid\" } }" },
        { "simplernn_relu_i2_h4_last_dense.keras", "{ \"cell\": \"rnn\", \"activation\": \"relu\", \"input\": 2, \"hidden\": 4, \"head\": { \"output\": 1, \"activation\": \"none\" } }" },
        { "bidir_lstm_i3_h4_dense_tanh.keras", "{ \"cell\": \"lstm\", \"input\": 3, \"hidden\": 4, \"bidirectional\": true, \"head\": { \"output\": 2, \"activation\": \"tanh\" } }" },
        { "gru_nobias_i2_h3.keras", "{ \"cell\": \"gru\", \"input\": 2, \"hidden\": 3, \"bias\": false }" },
        { "legacy_lstm_i3_h5_dense.h5", "{ \"cell\": \"lstm\", \"input\": 3, \"hidden\": 5, \"head\": { \"output\": 3, \"activation\": \"none\" } }" },
        { "legacy_bidir_gru_before_i2_h4.h5", "{ \"cell\": \"gru\", \"reset\": \"before\", \"input\": 2, \"hidden\": 4, \"bidirectional\": true }" },
        { "legacy_simplernn_i2_h3.h5", "{ \"cell\": \"rnn\", \"activation\": \"tanh\", \"input\": 2, \"hidden\": 3 }" },
    };

    /// <summary>Each refused model and what the error must name (the layer, then the setting).</summary>
    public static TheoryData<string, string, string> RefusedModels => new()
    {
        { "refused_hard_sigmoid.keras", "layer 'lstm' (LSTM)", "recurrent_activation \"hard_sigmoid\"" },
        { "refused_go_backwards.keras", "layer 'gru' (GRU)", "go_backwards=True" },
        { "refused_conv1d.keras", "layer 'conv1d'", "is a Conv1D, which the importer does not support" },
        { "refused_merge_sum.keras", "layer 'bidirectional' (Bidirectional)", "merge_mode \"sum\"" },
        { "refused_widths_differ.keras", "layer 'lstm_1'", "has 5 units, the first recurrent layer 4" },
        { "refused_bidir_last_step.keras", "layer 'bidirectional' (Bidirectional)", "return_sequences=False" },
        { "refused_bidir_backward_differs.keras", "layer 'bidirectional' (Bidirectional)", "has a backward_layer that differs from its forward layer" },
    };

    [Theory]
    [MemberData(nameof(SupportedModels))]
    public void ImportWritesTheSpecAndWeightsAndMatchesKerasEquations(string file, string expectedSpec)
    {
        string stem = Path.GetFileNameWithoutExtension(file);
        var (code, output, error) = Run("import", Model(file), "--name", stem, "--out", _temp, "--golden", Golden(file));
        Assert.True(code == 0, output + error);
        var passed = GoldenLine().Match(output);
        Assert.True(passed.Success, output);
        Assert.Equal("2 sequence(s) × 6 steps", passed.Groups["runs"].Value);
        Assert.True(double.Parse(passed.Groups["error"].Value, CultureInfo.InvariantCulture) <= GoldenCheck.Bound, passed.Value);
        Assert.Contains(file.EndsWith(".keras", StringComparison.Ordinal) ? "(Keras 3 (.keras))" : "(legacy Keras HDF5 (.h5))", output);

        string specPath = Path.Combine(_temp, stem + ".rnn.json");
        Assert.Equal(expectedSpec, Collapse(File.ReadAllText(specPath)));
        using var compiled = ModelCompiler.CompileFile(specPath);
        var weights = SafetensorsFile.Read(Path.Combine(_temp, stem + ".safetensors"));
        compiled.FromSafetensors(weights); // the strict loader: every tensor present, named and shaped as the spec needs
        Assert.Equal(compiled.Parameters.Select(p => p.Name).Order(StringComparer.Ordinal), weights.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(RefusedModels))]
    public void ARefusedLayerIsNamedWithItsSettingAndNothingIsWritten(string file, string layer, string what)
    {
        string stem = Path.GetFileNameWithoutExtension(file);
        var (code, _, error) = Run("import", Model(file), "--name", stem, "--out", _temp);
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.StartsWith($"embedded-rnn import: error: {file}: ", error, StringComparison.Ordinal);
        Assert.Contains(layer, error);
        Assert.Contains(what, error);
        Assert.Empty(Directory.GetFiles(_temp));

        var e = Assert.Throws<ImportException>(() => KerasImport.Read(Model(file)));
        Assert.Contains(layer, e.Message);
    }

    [Fact]
    public void AReturnSequencesFalseModelSaysToUseTheLastStep()
    {
        var (code, output, error) = Run("import", Model("simplernn_relu_i2_h4_last_dense.keras"), "--name", "last", "--out", _temp);
        Assert.True(code == 0, output + error);
        Assert.Contains("note: layer 'simple_rnn' has return_sequences=False: the Keras model outputs only the last step (through the Dense layer); Run and Step give every step's output, and the last step's is Keras' output", output);
        Assert.Contains("no golden check", output);
    }

    [Fact]
    public void ASpecWithTheOtherGruConventionIsRefused()
    {
        // The same tensors fit both GRU conventions, so --spec must agree with the model on the maths, not only shapes.
        string spec = Path.Combine(_temp, "gru.rnn.json");
        File.WriteAllText(spec, "{\"cell\": \"gru\", \"input\": 3, \"hidden\": 6, \"layers\": 2, \"head\": {\"output\": 2, \"activation\": \"sigmoid\"}}");
        var (code, _, error) = Run("import", Model("gru_before_i3_h6_l2_dense_sigmoid.keras"), "--spec", spec, "--out", _temp);
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Contains("gru.rnn.json does not describe gru_before_i3_h6_l2_dense_sigmoid.keras: the spec's GRU applies its reset after the recurrent product, the model's before", error);
        Assert.False(File.Exists(Path.Combine(_temp, "gru.safetensors")));

        File.WriteAllText(spec, "{\"cell\": \"gru\", \"reset\": \"before\", \"input\": 3, \"hidden\": 6, \"layers\": 2, \"head\": {\"output\": 2, \"activation\": \"sigmoid\"}}");
        (code, var output, error) = Run("import", Model("gru_before_i3_h6_l2_dense_sigmoid.keras"), "--spec", spec, "--out", _temp);
        Assert.True(code == 0, output + error);
        Assert.True(File.Exists(Path.Combine(_temp, "gru.safetensors")));
    }

    [Fact]
    public void TheLibraryGivesPyTorchNamesGateOrderAndBiases()
    {
        // Keras' GRU kernel columns are z, r, h; PyTorch's rows are r, z, n. A reset-after GRU's bias is [2, 3H]: input
        // and recurrent biases.
        var model = KerasImport.Read(Model("gru_after_i3_h6.keras"));
        Assert.Equal(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"], model.Tensors.Select(t => t.Name));
        Assert.Equal([18, 3], model.Tensors[0].Shape);
        Assert.Equal([18, 6], model.Tensors[1].Shape);
        var golden = SafetensorsFile.Read(Golden("gru_after_i3_h6.keras"));
        Assert.Contains("input", golden.Tensors.Select(t => t.Name));

        // A deliberately wrong gate order (r and z swapped, the shapes unchanged) fails the golden check.
        var weights = model.Tensors.ToDictionary(t => t.Name, t => t.Values);
        static float[] SwapFirstBlocks(float[] v)
        {
            var swapped = (float[])v.Clone();
            int block = v.Length / 3;
            v.AsSpan(0, block).CopyTo(swapped.AsSpan(block));
            v.AsSpan(block, block).CopyTo(swapped.AsSpan(0));
            return swapped;
        }

        var wrong = model with { Tensors = model.Tensors.Select(t => t with { Values = SwapFirstBlocks(t.Values) }).ToList() };
        using var compiled = ModelCompiler.Compile(Path.Combine(_temp, "gru.rnn.json"), model.Spec.ToJson());
        var right = GoldenCheck.Run(compiled, compiled.FromSafetensors(SafetensorsFile.Parse(model.ToSafetensors("test"))), golden, batchFirst: false);
        var swappedOutcome = GoldenCheck.Run(compiled, compiled.FromSafetensors(SafetensorsFile.Parse(wrong.ToSafetensors("test"))), golden, batchFirst: false);
        Assert.Null(right.Failure);
        Assert.NotNull(swappedOutcome.Failure);
    }

    [Fact]
    public void NotAKerasModelIsSaidSo()
    {
        string weightsOnly = Path.Combine(_temp, "weights.h5");
        File.WriteAllBytes(weightsOnly, File.ReadAllBytes(Model("legacy_simplernn_i2_h3.h5")).AsSpan(0, 8).ToArray().Concat(new byte[64]).ToArray());
        var e = Assert.Throws<ImportException>(() => KerasImport.Read(weightsOnly));
        Assert.Contains("not a readable HDF5 file", e.Message);

        string zip = Path.Combine(_temp, "other.zip");
        using (var archive = System.IO.Compression.ZipFile.Open(zip, System.IO.Compression.ZipArchiveMode.Create))
        {
            archive.CreateEntry("readme.txt");
        }

        Assert.False(KerasImport.IsKeras(zip));
        Assert.Contains("no config.json", Assert.Throws<ImportException>(() => KerasImport.Read(zip)).Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AConfigThatInflatesPastTheLimitIsRefusedBeforeItIsRead(bool lieAboutTheSize)
    {
        // A real archive whose config.json is padded past 17 MiB (17 KB of zip): an archive a few kilobytes long could
        // inflate to gigabytes, which the importer read whole and died of (OutOfMemoryException).
        string file = Path.Combine(_temp, "padded.keras");
        long configLength = 0;
        using (var source = System.IO.Compression.ZipFile.OpenRead(Model("bidir_lstm_i3_h4_dense_tanh.keras")))
        using (var target = System.IO.Compression.ZipFile.Open(file, System.IO.Compression.ZipArchiveMode.Create))
        {
            foreach (var entry in source.Entries)
            {
                using var from = entry.Open();
                using var to = target.CreateEntry(entry.FullName).Open();
                if (entry.FullName == "config.json")
                {
                    configLength = entry.Length;
                    var padding = new byte[17 << 20];
                    padding.AsSpan().Fill((byte)' ');
                    to.Write(padding);
                }

                from.CopyTo(to);
            }
        }

        if (lieAboutTheSize)
        {
            // Declared as 100 bytes, it is read as at most 100 (the zip reader stops there; a newer one may also call it
            // damaged): an import error, and never the whole entry.
            DeclareSize(file, "config.json", 100);
            Assert.Throws<ImportException>(() => KerasImport.Read(file));
            return;
        }

        var e = Assert.Throws<ImportException>(() => KerasImport.Read(file));
        Assert.Equal($"config.json in the .keras archive inflates to {(17 << 20) + configLength} bytes, more than the 16 MiB a model imported here needs: the archive is damaged or not a Keras model", e.Message);
    }

    [Fact]
    public void AWeightThatIsNotFiniteIsRefusedNamingTheKerasVariable()
    {
        // The legacy HDF5 stores the kernel's float32 values as they are: one of them, found once in the file, becomes
        // +Infinity. The import used to fail later, naming the renamed tensor and a library option.
        var bytes = File.ReadAllBytes(Model("legacy_lstm_i3_h5_dense.h5"));
        var kernel = KerasImport.Read(Model("legacy_lstm_i3_h5_dense.h5")).Tensors.Single(t => t.Name == "weight_ih_l0").Values;
        int at = -1;
        foreach (float value in kernel)
        {
            byte[] pattern = BitConverter.GetBytes(value);
            at = bytes.AsSpan().IndexOf(pattern);
            if (at >= 0 && bytes.AsSpan(at + 1).IndexOf(pattern) < 0)
            {
                break;
            }
        }

        Assert.True(at >= 0, "a kernel value found once in the file");
        BitConverter.GetBytes(float.PositiveInfinity).CopyTo(bytes, at);
        string patched = Path.Combine(_temp, "infinite.h5");
        File.WriteAllBytes(patched, bytes);
        var e = Assert.Throws<ImportException>(() => KerasImport.Read(patched));
        Assert.StartsWith("layer 'lstm': its kernel ('lstm/lstm_cell/kernel:0') holds Infinity at index ", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("; a model with a weight that is not finite cannot be imported", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bidir_lstm_i3_h4_dense_tanh.keras")]
    [InlineData("legacy_lstm_i3_h5_dense.h5")]
    public void DamagedFilesGiveAnImportErrorOnly(string file)
    {
        // Truncations and flipped bytes across the whole file: the importer either reads a model or says why not, in
        // one exception type, never another exception or a hang.
        var original = File.ReadAllBytes(Model(file));
        string damaged = Path.Combine(_temp, file);
        var random = new Random(17);
        for (int i = 0; i < 120; i++)
        {
            var bytes = i % 2 == 0 ? original.AsSpan(0, random.Next(original.Length)).ToArray() : Flip((byte[])original.Clone(), random);
            File.WriteAllBytes(damaged, bytes);
            KerasImport.IsKeras(damaged); // recognising never throws either
            try
            {
                KerasImport.Read(damaged);
            }
            catch (ImportException)
            {
            }
        }

        static byte[] Flip(byte[] bytes, Random random)
        {
            for (int k = 0; k < 4; k++)
            {
                bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
            }

            return bytes;
        }
    }

    [Theory]
    [InlineData(1, "its kernel ('lstm/lstm_cell/kernel:0') has shape [3, 2147483647]; its config needs [input, 20]")]
    [InlineData(0, "its kernel ('lstm/lstm_cell/kernel:0') has shape [2147483647, 20]: 171798691760 bytes of float32, more than the whole HDF5 file")]
    public void AKernelWhoseDataspaceClaimsBillionsOfValuesIsRefusedBeforeItIsRead(int dimension, string what)
    {
        // The kernel's dataspace message (version 1, rank 2, with maximum sizes: [3, 20] then [3, 20]) patched to claim
        // 2^31 - 1 rows or columns: read as it claims, the dataset made PureHDF allocate an array too large to exist.
        var bytes = File.ReadAllBytes(Model("legacy_lstm_i3_h5_dense.h5"));
        byte[] header = [1, 2, 1, 0, 0, 0, 0, 0];
        byte[] message = [.. header, .. new[] { 3UL, 20UL, 3UL, 20UL }.SelectMany(BitConverter.GetBytes)];
        int at = bytes.AsSpan().IndexOf(message);
        Assert.True(at >= 0 && bytes.AsSpan(at + 1).IndexOf(message) < 0, "the kernel's dataspace is found once");
        foreach (int field in new[] { dimension, 2 + dimension })
        {
            BitConverter.GetBytes((ulong)int.MaxValue).CopyTo(bytes, at + header.Length + (8 * field));
        }

        string patched = Path.Combine(_temp, "huge_kernel.h5");
        File.WriteAllBytes(patched, bytes);
        var e = Assert.Throws<ImportException>(() => KerasImport.Read(patched));
        Assert.Contains($"layer 'lstm': {what}", e.Message);

        var (code, output, error) = Run("inspect", patched);
        Assert.Equal(ToolCommands.BadInput, code);
        Assert.Equal($"embedded-rnn inspect: error: huge_kernel.h5: {e.Message}", error.TrimEnd());
        Assert.Empty(output);
    }

    internal static string Model(string file) => Path.Combine(AppContext.BaseDirectory, "keras", file);

    // Sets an entry's uncompressed size in its local header and in the central directory (the zip format's fields).
    private static void DeclareSize(string file, string name, uint size)
    {
        var bytes = File.ReadAllBytes(file);
        int patched = 0;
        foreach (var (signature, sizeAt, nameLengthAt, nameAt) in new[] { (0x04034b50u, 22, 26, 30), (0x02014b50u, 24, 28, 46) })
        {
            for (int at = 0; at + nameAt < bytes.Length; at++)
            {
                if (BitConverter.ToUInt32(bytes, at) == signature
                    && System.Text.Encoding.UTF8.GetString(bytes, at + nameAt, BitConverter.ToUInt16(bytes, at + nameLengthAt)) == name)
                {
                    BitConverter.GetBytes(size).CopyTo(bytes, at + sizeAt);
                    patched++;
                    break;
                }
            }
        }

        Assert.Equal(2, patched);
        File.WriteAllBytes(file, bytes);
    }

    internal static string Golden(string file) => Path.Combine(AppContext.BaseDirectory, "keras", Path.GetFileNameWithoutExtension(file) + ".golden.safetensors");

    [GeneratedRegex(@"golden check passed: (?<runs>.+) on the \w+ path, largest scaled error (?<error>\S+) \(bound 1e-05\)")]
    private static partial Regex GoldenLine();
}

/// <summary>
/// Every imported Keras model against its NumPy golden run on every kernel path (forced). Named "Numerics" so CI's
/// reruns with narrower ISAs (.ci/run) include it.
/// </summary>
public sealed class KerasImportNumericsTests(Xunit.Abstractions.ITestOutputHelper log)
{
    public static TheoryData<string> Models => new(KerasImportTests.SupportedModels.Select(row => (string)row[0]));

    [Theory]
    [MemberData(nameof(Models))]
    public void EveryKernelPathMatchesKerasEquations(string file)
    {
        AssertGoldenOnEveryPath(Path.GetFileNameWithoutExtension(file), KerasImport.Read(KerasImportTests.Model(file)), SafetensorsFile.Read(KerasImportTests.Golden(file)), log);
    }
}
