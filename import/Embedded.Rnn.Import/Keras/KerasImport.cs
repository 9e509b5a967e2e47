using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Embedded.Rnn.Safetensors;
using PureHDF;

namespace Embedded.Rnn.Import;

/// <summary>A Keras model read by <see cref="KerasImport"/>: the spec and weights, the layers it read, and what a user must know.</summary>
/// <param name="Spec">The spec the model needs.</param>
/// <param name="Tensors">The weights in PyTorch's names and gate order.</param>
/// <param name="Layers">Each layer of the model and what the importer read it as, in order.</param>
/// <param name="Notes">What a user acts on (e.g. the model returns only its last step).</param>
/// <param name="Format">"Keras 3 (.keras)" or "legacy Keras HDF5 (.h5)".</param>
public sealed record KerasImportedModel(ImportedSpec Spec, IReadOnlyList<ImportedTensor> Tensors, IReadOnlyList<string> Layers,
    IReadOnlyList<string> Notes, string Format) : ImportedModel(Spec, Tensors);

/// <summary>
/// Reads a Keras model, a Keras 3 <c>.keras</c> archive (config.json + model.weights.h5) or a legacy Keras 2 HDF5 file
/// (model_config + model_weights), into an Embedded.Rnn spec and PyTorch-named weights. HDF5 is read with PureHDF.
/// </summary>
/// <remarks>
/// Supported: a Sequential model of <c>SimpleRNN</c>, <c>LSTM</c> or <c>GRU</c> layers of one kind and width
/// (stacked; each optionally wrapped in <c>Bidirectional</c> with <c>merge_mode="concat"</c>; a GRU with
/// <c>reset_after</c> true, PyTorch's convention, or false, the reset-before GRU), <c>Dropout</c> layers (identity
/// at inference), and an optional last <c>Dense</c> layer with <c>linear</c>, <c>sigmoid</c>, <c>tanh</c> or
/// <c>softmax</c>. LSTM and GRU must keep Keras' default activations (<c>tanh</c>, gates <c>sigmoid</c>); a
/// SimpleRNN may use <c>tanh</c> or <c>relu</c>. Refused, naming the layer and the setting: other activations,
/// <c>go_backwards</c>, other merge modes, other layers, recurrent layers of different kinds or widths, and
/// Functional models.
/// Keras stores kernels as [input, gates·units] with gate columns LSTM i, f, c, o and GRU z, r, h: the importer
/// transposes them and reorders a GRU's gates to PyTorch's r, z, n. A single Keras bias becomes bias_ih (bias_hh
/// zero); a reset-after GRU's [2, 3·units] bias is bias_ih and bias_hh.
/// </remarks>
public static class KerasImport
{
    /// <summary>True when the file is an HDF5 file (a legacy Keras model?) or a zip holding a Keras config.json.</summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static bool IsKeras(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> start = stackalloc byte[8];
        int read = stream.ReadAtLeast(start, start.Length, throwOnEndOfStream: false);
        if (ForeignFormats.LooksLikeHdf5(start[..read]))
        {
            return true;
        }

        if (!ForeignFormats.LooksLikeZip(start[..read]))
        {
            return false;
        }

        stream.Position = 0;
        try
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Read);
            return zip.GetEntry("config.json") is not null && (zip.GetEntry("model.weights.h5") ?? zip.GetEntry("model.weights.npz")) is not null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false; // a damaged zip is not recognisably Keras; the caller's own reader then says what it is
        }
    }

    /// <summary>Reads the Keras model at <paramref name="path"/> (.keras or legacy .h5, told apart by content).</summary>
    /// <exception cref="ImportException">The file is not a Keras model, or holds one the importer does not support (the message names the layer).</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static KerasImportedModel Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        try
        {
            if (ForeignFormats.LooksLikeHdf5(bytes))
            {
                return ReadLegacy(new MemoryStream(bytes, writable: false));
            }

            if (ForeignFormats.LooksLikeZip(bytes))
            {
                return ReadArchive(new MemoryStream(bytes, writable: false));
            }
        }
        catch (Exception e) when (e is not (ImportException or OutOfMemoryException))
        {
            // A damaged file fails somewhere inside the zip, JSON or HDF5 readers: one kind of error, saying so.
            throw new ImportException($"the file is damaged or not a Keras model ({e.GetType().Name}: {e.Message})", e);
        }

        throw new ImportException("not a Keras model: neither a .keras archive (zip) nor an HDF5 file");
    }

    // Keras 3: config.json describes the layers; model.weights.h5 holds each layer's variables at
    // layers/<snake_case class name>[_<n>]/[cell/]vars/<index>, numbered per class name in layer order (lstm, lstm_1).
    private static KerasImportedModel ReadArchive(Stream stream)
    {
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(stream, ZipArchiveMode.Read);
        }
        catch (InvalidDataException e)
        {
            throw new ImportException($"not a .keras archive ({e.Message})", e);
        }

        using (zip)
        {
            var configEntry = zip.GetEntry("config.json")
                ?? throw new ImportException("not a .keras archive: it has no config.json (Keras 3 writes config.json, metadata.json and model.weights.h5)");
            var weightsEntry = zip.GetEntry("model.weights.h5") ?? throw new ImportException(zip.GetEntry("model.weights.npz") is null
                ? "the .keras archive has no model.weights.h5"
                : "the .keras archive keeps its weights in model.weights.npz; save the model with Keras' default HDF5 weights");
            string config;
            using (var reader = new StreamReader(Inflate(configEntry, ConfigLimit)))
            {
                config = reader.ReadToEnd();
            }

            var weights = Inflate(weightsEntry, WeightsLimit);
            var file = OpenHdf5(weights, "model.weights.h5");
            var layers = Layers(config, "config.json");
            var used = new Dictionary<string, int>();
            var paths = new Dictionary<KerasLayer, string>();
            foreach (var layer in layers)
            {
                string name = SnakeCase(layer.ClassName);
                used[name] = used.TryGetValue(name, out int count) ? count + 1 : 0;
                paths[layer] = used[name] == 0 ? $"layers/{name}" : $"layers/{name}_{used[name]}";
            }

            return Convert(layers, "Keras 3 (.keras)", (layer, part, expected) =>
            {
                string group = $"{paths[layer]}/{(part.Length == 0 ? string.Empty : part + "/")}vars";
                return expected.Select((e, i) => Variable(file, $"{group}/{i}", layer, e, weights.Length)).ToArray();
            });
        }
    }

    // What an archive's entries may inflate to: a Keras config is kilobytes, and a gigabyte of weights is far past the
    // RNNs imported here. A few kilobytes of zip can inflate to gigabytes, which ended the tool with an OutOfMemoryException.
    private const long ConfigLimit = 16L << 20;
    private const long WeightsLimit = 1L << 30;

    // An entry's bytes, refused when it declares more than the limit. It cannot inflate past what it declares: the zip
    // reader stops there (tested).
    private static MemoryStream Inflate(ZipArchiveEntry entry, long limit)
    {
        if (entry.Length > limit)
        {
            throw new ImportException($"{entry.FullName} in the .keras archive inflates to {entry.Length} bytes, more than the {limit >> 20} MiB a model imported here needs: the archive is damaged or not a Keras model");
        }

        var bytes = new MemoryStream();
        using (var stream = entry.Open())
        {
            stream.CopyTo(bytes);
        }

        bytes.Position = 0;
        return bytes;
    }

    // Keras 2's HDF5: the root's model_config attribute describes the layers; model_weights/<layer name> lists its
    // datasets in its weight_names attribute (a Bidirectional layer: the forward layer's, then the backward layer's).
    private static KerasImportedModel ReadLegacy(Stream stream)
    {
        var file = OpenHdf5(stream, "the HDF5 file");
        if (!file.AttributeExists("model_config"))
        {
            throw new ImportException("the HDF5 file has no model_config attribute: it holds weights only (model.save_weights), which do not say what the layers are. " +
                "Save the whole model (model.save(\"model.keras\"), or model.save(\"model.h5\") with Keras 2)");
        }

        var layers = Layers(file.Attribute("model_config").Read<string>(), "model_config");
        var root = file.LinkExists("model_weights") ? file.Group("model_weights") : (IH5Group)file;
        return Convert(layers, "legacy Keras HDF5 (.h5)", (layer, part, expected) =>
        {
            if (!root.LinkExists(layer.Name))
            {
                throw new ImportException($"layer '{layer.Name}' has no weights group in the file");
            }

            var group = root.Group(layer.Name);
            var names = group.AttributeExists("weight_names") ? group.Attribute("weight_names").Read<string[]>() : [];
            int first = part == "backward_layer/cell" ? names.Length / 2 : 0;
            int available = part.StartsWith("forward", StringComparison.Ordinal) || part.StartsWith("backward", StringComparison.Ordinal) ? names.Length / 2 : names.Length;
            if (available != expected.Length)
            {
                throw new ImportException($"layer '{layer.Name}' lists {available} weights{(part.Length == 0 || part == "cell" ? string.Empty : " for its " + part.Split('/')[0].Replace('_', ' '))}; its config needs {expected.Length}");
            }

            return expected.Select((e, i) => Variable(group, names[first + i], layer, e, stream.Length)).ToArray();
        });
    }

    private static PureHDF.VOL.Native.NativeFile OpenHdf5(Stream stream, string what)
    {
        try
        {
            return H5File.Open(stream);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ImportException($"{what} is not a readable HDF5 file ({e.Message})", e);
        }
    }

    // One weight, its shape checked before its values are read: a damaged dataspace can claim billions of values, which
    // PureHDF would try to allocate (an OutOfMemoryException, not an error about the file). Every size but the first
    // layer's input width comes from the config; that one is bounded by the file, since Keras writes its weights
    // uncompressed and a dataset cannot then hold more bytes than the file holding it (fileBytes: the HDF5 file's size).
    private static KerasVariable Variable(IH5Group group, string path, KerasLayer layer, ExpectedShape expected, long fileBytes)
    {
        if (!group.LinkExists(path))
        {
            throw new ImportException($"layer '{layer.Name}': the weights file has no '{path}'");
        }

        var dataset = group.Dataset(path);
        ulong[] dimensions = dataset.Space.Dimensions;
        string shape = $"[{string.Join(", ", dimensions)}]";
        if (dimensions.Length != expected.Shape.Length || dimensions.Where((d, i) => expected.Shape[i] != ExpectedShape.Input && d != (ulong)expected.Shape[i]).Any())
        {
            string needed = string.Join(", ", expected.Shape.Select(d => d == ExpectedShape.Input ? "input" : d.ToString(CultureInfo.InvariantCulture)));
            throw new ImportException($"layer '{layer.Name}': its {expected.What} ('{path}') has shape {shape}; its config needs [{needed}]");
        }

        if (dataset.Type.Class != H5DataTypeClass.FloatingPoint || dataset.Type.Size is not (4 or 8))
        {
            throw new ImportException($"layer '{layer.Name}': '{path}' holds {dataset.Type.Class} values of {dataset.Type.Size} bytes, not float32 or float64");
        }

        UInt128 bytes = (uint)dataset.Type.Size; // every size but one is the config's (an int), so the product fits
        foreach (ulong d in dimensions)
        {
            bytes *= d;
        }

        if (bytes > (ulong)fileBytes)
        {
            throw new ImportException($"layer '{layer.Name}': its {expected.What} ('{path}') has shape {shape}: {bytes} bytes of float{dataset.Type.Size * 8}, " +
                $"more than the whole HDF5 file ({fileBytes} bytes); the file is damaged");
        }

        float[] values = dataset.Type.Size == 8 ? Array.ConvertAll(dataset.Read<double[]>(), v => (float)v) : dataset.Read<float[]>();
        return new KerasVariable(path, dimensions.Select(d => (int)d).ToArray(), ImportedValues.Finite(values, $"layer '{layer.Name}': its {expected.What} ('{path}')"));
    }

    // The model's layers from its config (Sequential only: a Functional graph would need its wiring checked).
    private static List<KerasLayer> Layers(string json, string where)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(json);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new ImportException($"{where} is not valid JSON ({e.Message})", e);
        }

        string modelClass = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("class_name", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "?";
        if (modelClass != "Sequential")
        {
            throw new ImportException($"the model is a {modelClass}; the importer reads Sequential models (rebuild it as keras.Sequential with the same layers, or export it to ONNX)");
        }

        if (!root.TryGetProperty("config", out var config) || config.ValueKind != JsonValueKind.Object || !config.TryGetProperty("layers", out var layers) || layers.ValueKind != JsonValueKind.Array)
        {
            throw new ImportException($"{where} has no config.layers list");
        }

        return layers.EnumerateArray().Select((l, i) => Layer(l, $"{where}: layer {i}")).ToList();
    }

    // One layer's description: its class name and config object, and the config's name.
    private static KerasLayer Layer(JsonElement element, string where)
    {
        if (element.ValueKind != JsonValueKind.Object
            || !element.TryGetProperty("class_name", out var className) || className.ValueKind != JsonValueKind.String
            || !element.TryGetProperty("config", out var config) || config.ValueKind != JsonValueKind.Object)
        {
            throw new ImportException($"{where} is not an object with a class_name string and a config object");
        }

        string name = config.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : string.Empty;
        return new KerasLayer(className.GetString()!, name, config);
    }

    // Keras' to_snake_case for the layer classes the importer reads (the name of a layer's weights group).
    private static string SnakeCase(string className) => className switch
    {
        "SimpleRNN" => "simple_rnn",
        "LSTM" => "lstm",
        "GRU" => "gru",
        "InputLayer" => "input_layer",
        _ => string.Concat(className.Select((ch, i) => char.IsUpper(ch) ? (i > 0 ? "_" : string.Empty) + char.ToLowerInvariant(ch) : ch.ToString())),
    };

    // The layers in order: recurrent ones (one kind, one width), Dropout anywhere, one Dense last.
    // variables(layer, part, expected) reads a layer's weights (part: "cell", "forward_layer/cell", ... or empty), one
    // for each expected shape, in Keras' order, checked against it.
    private static KerasImportedModel Convert(List<KerasLayer> layers, string format, Func<KerasLayer, string, ExpectedShape[], KerasVariable[]> variables)
    {
        var read = new List<string>();
        var notes = new List<string>();
        var recurrent = new List<(KerasLayer Layer, RecurrentConfig Config)>();
        KerasLayer? dense = null;
        foreach (var layer in layers)
        {
            switch (layer.ClassName)
            {
                case "InputLayer":
                    continue;
                case "Dropout":
                    read.Add($"{layer.Name}: Dropout, the identity at inference");
                    continue;
                case "SimpleRNN" or "LSTM" or "GRU" or "Bidirectional":
                    if (dense is not null)
                    {
                        throw new ImportException($"layer '{layer.Name}' ({layer.ClassName}) follows the Dense layer '{dense.Name}'; the importer reads recurrent layers, then one Dense layer");
                    }

                    var config = RecurrentConfig.Read(layer);
                    recurrent.Add((layer, config));
                    read.Add($"{layer.Name}: {config.Describe()}");
                    continue;
                case "Dense":
                    if (recurrent.Count == 0)
                    {
                        throw new ImportException($"layer '{layer.Name}' (Dense) comes before any recurrent layer; the importer reads recurrent layers, then one Dense layer");
                    }

                    if (dense is not null)
                    {
                        throw new ImportException($"layer '{layer.Name}' is a second Dense layer (after '{dense.Name}'); the importer reads one Dense head");
                    }

                    dense = layer;
                    read.Add($"{layer.Name}: Dense, {Units(Int(layer, "units"))}, {HeadActivation(layer)}");
                    continue;
                default:
                    throw new ImportException($"layer '{layer.Name}' is a {layer.ClassName}, which the importer does not support (supported: SimpleRNN, LSTM, GRU, Bidirectional, Dropout, Dense)");
            }
        }

        if (recurrent.Count == 0)
        {
            throw new ImportException("the model has no SimpleRNN, LSTM or GRU layer");
        }

        var first = recurrent[0].Config;
        for (int k = 0; k < recurrent.Count; k++)
        {
            var (layer, config) = recurrent[k];
            string? differs = config.Kind != first.Kind ? $"is a {config.Kind}, the first recurrent layer a {first.Kind}"
                : config.Units != first.Units ? $"has {config.Units} units, the first recurrent layer {first.Units}"
                : config.Bidirectional != first.Bidirectional ? (config.Bidirectional ? "is bidirectional, the first recurrent layer not" : "is not bidirectional, the first recurrent layer is")
                : config.UseBias != first.UseBias ? "differs from the first recurrent layer in use_bias"
                : config.ResetAfter != first.ResetAfter ? "differs from the first recurrent layer in reset_after"
                : config.Activation != first.Activation ? "differs from the first recurrent layer in activation"
                : null;
            if (differs is not null)
            {
                throw new ImportException($"layer '{layer.Name}' {differs}: Embedded.Rnn stacks layers of one cell and width");
            }

            if (!config.ReturnSequences && k < recurrent.Count - 1)
            {
                throw new ImportException($"layer '{layer.Name}' has return_sequences=False but feeds another recurrent layer");
            }
        }

        if (!recurrent[^1].Config.ReturnSequences)
        {
            notes.Add($"layer '{recurrent[^1].Layer.Name}' has return_sequences=False: the Keras model outputs only the last step{(dense is null ? string.Empty : " (through the Dense layer)")}; Run and Step give every step's output, and the last step's is Keras' output");
        }

        int gates = first.Gates;
        int units = first.Units;
        var tensors = new List<ImportedTensor>();
        int input = 0;
        for (int k = 0; k < recurrent.Count; k++)
        {
            var (layer, config) = recurrent[k];
            var parts = config.Bidirectional ? new[] { "forward_layer/cell", "backward_layer/cell" } : new[] { "cell" };
            for (int direction = 0; direction < parts.Length; direction++)
            {
                // The first layer's input width is read from its forward kernel; the backward kernel must agree.
                bool pair = config.Kind == "GRU" && config.ResetAfter;
                ExpectedShape[] expected =
                [
                    new("kernel", [k > 0 ? (config.Bidirectional ? 2 : 1) * units : direction > 0 ? input : ExpectedShape.Input, gates * units]),
                    new("recurrent_kernel", [units, gates * units]),
                    .. config.UseBias ? [new ExpectedShape("bias", pair ? [2, gates * units] : [gates * units])] : Array.Empty<ExpectedShape>(),
                ];
                var vars = variables(layer, parts[direction], expected);
                int columns = vars[0].Shape[0];
                if (k == 0)
                {
                    input = columns;
                }

                string suffix = $"l{k}{(direction == 1 ? "_reverse" : string.Empty)}";
                tensors.Add(new ImportedTensor("weight_ih_" + suffix, [gates * units, columns], Rows(vars[0].Values, columns, units, config.GateOrder)));
                tensors.Add(new ImportedTensor("weight_hh_" + suffix, [gates * units, units], Rows(vars[1].Values, units, units, config.GateOrder)));
                if (config.UseBias)
                {
                    var bias = vars[2];
                    var inputBias = bias.Values.AsSpan(0, gates * units).ToArray();
                    var recurrentBias = pair ? bias.Values.AsSpan(gates * units).ToArray() : new float[gates * units];
                    tensors.Add(new ImportedTensor("bias_ih_" + suffix, [gates * units], Rows(inputBias, 1, units, config.GateOrder)));
                    tensors.Add(new ImportedTensor("bias_hh_" + suffix, [gates * units], Rows(recurrentBias, 1, units, config.GateOrder)));
                }
            }
        }

        int? headOutput = null;
        string? headActivation = null;
        if (dense is not null)
        {
            int outputs = Int(dense, "units");
            bool useBias = RecurrentConfig.Bool(dense, "use_bias", true);
            int width = (first.Bidirectional ? 2 : 1) * units;
            var vars = variables(dense, string.Empty, [new("kernel", [width, outputs]), .. useBias ? [new ExpectedShape("bias", [outputs])] : Array.Empty<ExpectedShape>()]);
            tensors.Add(new ImportedTensor("head.weight", [outputs, width], Rows(vars[0].Values, width, outputs, [0])));
            tensors.Add(new ImportedTensor("head.bias", [outputs], useBias ? vars[1].Values : new float[outputs]));
            headOutput = outputs;
            headActivation = HeadActivation(dense);
        }

        var spec = new ImportedSpec(first.Cell, input, units, recurrent.Count, first.Bidirectional, first.UseBias,
            Activation: first.Kind == "SimpleRNN" ? first.Activation : null, HeadOutput: headOutput, HeadActivation: headActivation,
            Reset: first.Kind == "GRU" && !first.ResetAfter ? "before" : null);
        return new KerasImportedModel(spec, tensors, read, notes, format);
    }

    // Keras [columns, gates·units] (column-major gates) to PyTorch [gates·units, columns], gate blocks taken in
    // PyTorch's order from Keras' (order[p] = the Keras block of PyTorch's block p). A bias is one column.
    private static float[] Rows(float[] keras, int columns, int units, int[] order)
    {
        int gates = order.Length;
        var rows = new float[gates * units * columns];
        for (int p = 0; p < gates; p++)
        {
            for (int u = 0; u < units; u++)
            {
                int kerasRow = order[p] * units + u;
                for (int j = 0; j < columns; j++)
                {
                    rows[(p * units + u) * columns + j] = keras[j * gates * units + kerasRow];
                }
            }
        }

        return rows;
    }

    private static string Units(int count) => count == 1 ? "1 unit" : $"{count} units";

    private static int Int(KerasLayer layer, string name) =>
        layer.Config.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int value) && value > 0 ? value
            : throw new ImportException($"layer '{layer.Name}' ({layer.ClassName}) has no positive integer '{name}'");

    private static string HeadActivation(KerasLayer dense)
    {
        string activation = Text(dense, "activation") ?? "linear";
        return activation switch
        {
            "linear" => "none",
            "sigmoid" or "tanh" or "softmax" => activation,
            _ => throw new ImportException($"layer '{dense.Name}' (Dense) has activation \"{activation}\"; the importer supports linear, sigmoid, tanh and softmax"),
        };
    }

    private static string? Text(KerasLayer layer, string name) =>
        !layer.Config.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString()
        : throw new ImportException($"layer '{layer.Name}' ({layer.ClassName}) has a custom {name} ({v.GetRawText()}); the importer supports Keras' built-in activations by name");

    private sealed record KerasLayer(string ClassName, string Name, JsonElement Config);

    private sealed record KerasVariable(string Path, int[] Shape, float[] Values);

    // What a weight is (Keras' name for it: kernel, recurrent_kernel, bias) and the shape its layer's config needs.
    private sealed record ExpectedShape(string What, int[] Shape)
    {
        // The size the config does not give: the first layer's input width, read from its kernel.
        public const int Input = -1;
    }

    // A recurrent layer's settings, checked against what the importer supports.
    private sealed record RecurrentConfig(string Kind, int Units, bool Bidirectional, bool UseBias, bool ResetAfter, bool ReturnSequences, string Activation)
    {
        public int Gates => Kind switch { "LSTM" => 4, "GRU" => 3, _ => 1 };

        public string Cell => Kind switch { "LSTM" => "lstm", "GRU" => "gru", _ => "rnn" };

        // PyTorch's gate blocks in Keras' order: LSTM i, f, c, o is PyTorch's i, f, g, o; GRU z, r, h → r, z, n.
        public int[] GateOrder => Kind switch { "LSTM" => [0, 1, 2, 3], "GRU" => [1, 0, 2], _ => [0] };

        public string Describe() =>
            $"{(Bidirectional ? "Bidirectional " : string.Empty)}{Kind}, {KerasImport.Units(Units)}" +
            (Kind == "SimpleRNN" ? $", {Activation}" : string.Empty) +
            (Kind == "GRU" ? (ResetAfter ? ", reset_after=True (PyTorch's GRU)" : ", reset_after=False (reset-before GRU)") : string.Empty) +
            (UseBias ? string.Empty : ", no bias") + (ReturnSequences ? string.Empty : ", last step only");

        public static RecurrentConfig Read(KerasLayer layer, bool allowBackwards = false)
        {
            bool bidirectional = layer.ClassName == "Bidirectional";
            var inner = layer;
            if (bidirectional)
            {
                string merge = Text(layer, "merge_mode") ?? "concat";
                if (merge != "concat")
                {
                    throw new ImportException($"layer '{layer.Name}' (Bidirectional) has merge_mode \"{merge}\"; the importer supports \"concat\" (forward and backward outputs side by side)");
                }

                inner = Wrapped(layer, "layer") ?? throw new ImportException($"layer '{layer.Name}' (Bidirectional) has no wrapped 'layer'");
                if (inner.ClassName is not ("SimpleRNN" or "LSTM" or "GRU"))
                {
                    throw new ImportException($"layer '{layer.Name}' (Bidirectional) wraps a {inner.ClassName}; the importer supports SimpleRNN, LSTM and GRU");
                }
            }

            string kind = inner.ClassName;
            string activation = Text(inner, "activation") ?? "tanh";
            if (kind == "SimpleRNN" ? activation is not ("tanh" or "relu") : activation != "tanh")
            {
                throw new ImportException($"layer '{layer.Name}' ({kind}) has activation \"{activation}\"; the importer supports {(kind == "SimpleRNN" ? "\"tanh\" and \"relu\"" : "Keras' default, \"tanh\"")}");
            }

            if (kind != "SimpleRNN" && (Text(inner, "recurrent_activation") ?? "sigmoid") is var gate && gate != "sigmoid")
            {
                throw new ImportException($"layer '{layer.Name}' ({kind}) has recurrent_activation \"{gate}\"; the importer supports Keras' default, \"sigmoid\" (Keras 2.2 and earlier defaulted to \"hard_sigmoid\")");
            }

            if (!allowBackwards && Bool(inner, "go_backwards", false))
            {
                throw new ImportException($"layer '{layer.Name}' ({kind}) has go_backwards=True; the importer supports forward layers (and Bidirectional wrappers)");
            }

            var config = new RecurrentConfig(kind, Int(inner, "units"), bidirectional, Bool(inner, "use_bias", true), Bool(inner, "reset_after", true),
                Bool(inner, "return_sequences", false), activation);
            if (bidirectional && !config.ReturnSequences)
            {
                // Keras would output the backward layer's state after the whole reversed sequence (its step 0), which no
                // single step of the imported model's output holds.
                throw new ImportException($"layer '{layer.Name}' (Bidirectional) has return_sequences=False; the importer supports bidirectional layers that return every step");
            }

            if (bidirectional && Wrapped(layer, "backward_layer") is { } backward)
            {
                // A custom backward layer must be the forward one run backwards: the spec has one cell for both directions.
                var mirrored = Read(new KerasLayer(backward.ClassName, layer.Name, backward.Config), allowBackwards: true);
                if (mirrored with { Bidirectional = true } != config)
                {
                    throw new ImportException($"layer '{layer.Name}' (Bidirectional) has a backward_layer that differs from its forward layer ({mirrored.Describe()} vs {config.Describe()}); the importer supports one cell for both directions");
                }
            }

            return config;
        }

        // A layer config nested in a wrapper's config (Bidirectional's "layer" and "backward_layer"), or null.
        private static KerasLayer? Wrapped(KerasLayer wrapper, string field) =>
            wrapper.Config.TryGetProperty(field, out var element) && element.ValueKind != JsonValueKind.Null ? Layer(element, $"layer '{wrapper.Name}' ({wrapper.ClassName}): {field}") : null;

        public static bool Bool(KerasLayer layer, string name, bool fallback) =>
            layer.Config.TryGetProperty(name, out var v) ? v.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new ImportException($"layer '{layer.Name}' ({layer.ClassName}) has '{name}' = {v.GetRawText()}, not true or false"),
            } : fallback;
    }
}
