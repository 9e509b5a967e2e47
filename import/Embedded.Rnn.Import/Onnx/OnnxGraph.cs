using System.Buffers.Binary;
using System.Globalization;
using Embedded.Rnn.Import.Onnx.Schema;

namespace Embedded.Rnn.Import.Onnx;

/// <summary>
/// A parsed ONNX graph indexed for the importer: who produces and who consumes each value, the initializers, and the
/// constants the importer evaluates (weights, Reshape shapes, Squeeze axes) or recognises as zero (initial states).
/// </summary>
internal sealed class OnnxGraph
{
    private readonly Dictionary<string, TensorProto> _initializers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodeProto> _producers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<NodeProto>> _consumers = new(StringComparer.Ordinal);
    private readonly Dictionary<NodeProto, int> _index = new(ReferenceEqualityComparer.Instance);

    public OnnxGraph(ModelProto model)
    {
        Model = model;
        Graph = model.Graph ?? throw new ImportException("the ONNX model has no graph");
        foreach (var tensor in Graph.Initializer)
        {
            _initializers[tensor.Name] = tensor;
        }

        for (int i = 0; i < Graph.Node.Count; i++)
        {
            var node = Graph.Node[i];
            _index[node] = i;
            foreach (string output in node.Output.Where(o => o.Length > 0))
            {
                if (!_producers.TryAdd(output, node))
                {
                    throw new ImportException($"value '{output}' is produced by two nodes ({Name(_producers[output])} and {Name(node)}): the graph is malformed");
                }
            }

            foreach (string input in node.Input.Where(o => o.Length > 0))
            {
                if (!_consumers.TryGetValue(input, out var list))
                {
                    _consumers[input] = list = [];
                }

                list.Add(node);
            }
        }

        foreach (var opset in model.OpsetImport)
        {
            if (opset.Domain is "" or "ai.onnx")
            {
                Opset = (int)opset.Version;
            }
        }
    }

    public ModelProto Model { get; }

    public GraphProto Graph { get; }

    /// <summary>The default domain's operator set version (0 when the model does not say).</summary>
    public int Opset { get; }

    public NodeProto? Producer(string value) => _producers.GetValueOrDefault(value);

    public IReadOnlyList<NodeProto> Consumers(string value) => _consumers.TryGetValue(value, out var list) ? list : [];

    public bool IsInitializer(string value) => _initializers.ContainsKey(value);

    public bool IsGraphInput(string value) => Graph.Input.Any(i => i.Name == value) && !IsInitializer(value);

    /// <summary>How errors name a node: <c>node 'name' (LSTM)</c>, or by position and first output when it has no name.</summary>
    public string Name(NodeProto node) =>
        node.Name.Length > 0
            ? $"node '{node.Name}' ({node.OpType})"
            : $"node #{_index.GetValueOrDefault(node)} ({node.OpType}, output '{node.Output.FirstOrDefault()}')";

    /// <summary>An input of a node, or null when absent or given as "" (an omitted optional input).</summary>
    public static string? Input(NodeProto node, int index) => index < node.Input.Count && node.Input[index].Length > 0 ? node.Input[index] : null;

    /// <summary>The constant tensor behind a value: an initializer, a Constant node's value, or an Identity of either; else null.</summary>
    /// <exception cref="ImportException">The value is its own source through a cycle of Identity nodes.</exception>
    public TensorProto? Constant(string value)
    {
        // A valid graph has no cycle, but a damaged file can chain Identity nodes into one: the walk stops after as many
        // hops as there are nodes.
        string start = value;
        for (int hops = 0; hops <= Graph.Node.Count; hops++)
        {
            if (_initializers.TryGetValue(value, out var tensor))
            {
                return tensor;
            }

            var node = Producer(value);
            if (node is not null && node.OpType == "Identity" && Input(node, 0) is string source)
            {
                value = source;
                continue;
            }

            return node is not null && node.OpType == "Constant" ? ConstantValue(node) : null;
        }

        throw new ImportException($"value '{start}' comes from a cycle of Identity nodes: the graph is malformed");
    }

    private static TensorProto? ConstantValue(NodeProto node)
    {
        foreach (var attribute in node.Attribute)
        {
            switch (attribute.Name)
            {
                case "value":
                    return attribute.T;
                case "value_float":
                    return new TensorProto { DataType = (int)TensorProto.Types.DataType.Float, FloatData = { attribute.F } };
                case "value_floats":
                    return new TensorProto { DataType = (int)TensorProto.Types.DataType.Float, Dims = { attribute.Floats.Count }, FloatData = { attribute.Floats } };
                case "value_int":
                    return new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64, Int64Data = { attribute.I } };
                case "value_ints":
                    return new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64, Dims = { attribute.Ints.Count }, Int64Data = { attribute.Ints } };
            }
        }

        return null;
    }

    /// <summary>
    /// True when the value is certainly all zeros: a zero constant, a ConstantOfShape of zero (its shape may be computed
    /// at run time, as exporters do for a batch-sized initial state), or a slice, reshape, expand... of zeros.
    /// </summary>
    public bool IsZero(string value, int depth = 0)
    {
        if (depth > 64)
        {
            return false;
        }

        if (Constant(value) is { } constant)
        {
            return Floats(constant, value).All(v => v == 0);
        }

        var node = Producer(value);
        switch (node?.OpType)
        {
            case "ConstantOfShape":
                var fill = node.Attribute.FirstOrDefault(a => a.Name == "value");
                return fill is null || Floats(fill.T ?? throw new ImportException($"{Name(node)}: attribute 'value' holds no tensor"), $"the value of {Name(node)}").All(v => v == 0);
            case "Expand" or "Slice" or "Reshape" or "Squeeze" or "Unsqueeze" or "Identity" or "Cast" or "Transpose" or "Gather" or "Tile":
                return Input(node, 0) is string data && IsZero(data, depth + 1);
            case "Concat":
                return node.Input.Where(i => i.Length > 0).All(i => IsZero(i, depth + 1));
            default:
                return false;
        }
    }

    /// <summary>A tensor's dimensions.</summary>
    public static int[] Dims(TensorProto tensor, string what) =>
        tensor.Dims.Select(d => d is >= 0 and <= int.MaxValue ? (int)d : throw new ImportException($"{what} has dimension {d}")).ToArray();

    /// <summary>A weight tensor's values (<see cref="Floats"/>), refused when one is not finite.</summary>
    public static float[] Weights(TensorProto tensor, string what) => ImportedValues.Finite(Floats(tensor, what), what);

    /// <summary>A float tensor's values (float32, or float64 narrowed), row-major.</summary>
    public static float[] Floats(TensorProto tensor, string what)
    {
        CheckStoredInside(tensor, what);
        long count = Count(tensor, what);
        switch ((TensorProto.Types.DataType)tensor.DataType)
        {
            case TensorProto.Types.DataType.Float:
                if (!tensor.RawData.IsEmpty)
                {
                    CheckRawLength(tensor, what, count, 4);
                    var raw = tensor.RawData.Span;
                    var values = new float[count];
                    for (int i = 0; i < values.Length; i++)
                    {
                        values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * i)..]);
                    }

                    return values;
                }

                return Checked(tensor.FloatData.ToArray(), count, what);
            case TensorProto.Types.DataType.Double:
                if (!tensor.RawData.IsEmpty)
                {
                    CheckRawLength(tensor, what, count, 8);
                    var raw = tensor.RawData.Span;
                    var values = new float[count];
                    for (int i = 0; i < values.Length; i++)
                    {
                        values[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw[(8 * i)..]);
                    }

                    return values;
                }

                return Checked(tensor.DoubleData.Select(d => (float)d).ToArray(), count, what);
            default:
                throw new ImportException($"{what} is a tensor of {DataTypeName(tensor.DataType)}; the importer reads float32 (and float64) weights");
        }
    }

    /// <summary>An integer tensor's values (int64 or int32), row-major.</summary>
    public static long[] Ints(TensorProto tensor, string what)
    {
        CheckStoredInside(tensor, what);
        long count = Count(tensor, what);
        switch ((TensorProto.Types.DataType)tensor.DataType)
        {
            case TensorProto.Types.DataType.Int64:
                if (!tensor.RawData.IsEmpty)
                {
                    CheckRawLength(tensor, what, count, 8);
                    var raw = tensor.RawData.Memory;
                    return Enumerable.Range(0, (int)count).Select(i => BinaryPrimitives.ReadInt64LittleEndian(raw.Span[(8 * i)..])).ToArray();
                }

                return Checked(tensor.Int64Data.ToArray(), count, what);
            case TensorProto.Types.DataType.Int32:
                if (!tensor.RawData.IsEmpty)
                {
                    CheckRawLength(tensor, what, count, 4);
                    var raw = tensor.RawData.Memory;
                    return Enumerable.Range(0, (int)count).Select(i => (long)BinaryPrimitives.ReadInt32LittleEndian(raw.Span[(4 * i)..])).ToArray();
                }

                return Checked(tensor.Int32Data.Select(v => (long)v).ToArray(), count, what);
            default:
                throw new ImportException($"{what} is a tensor of {DataTypeName(tensor.DataType)}; integers (int64) were expected");
        }
    }

    public static string DataTypeName(int type) =>
        Enum.IsDefined((TensorProto.Types.DataType)type) ? ((TensorProto.Types.DataType)type).ToString().ToLowerInvariant() : $"data type {type}";

    private static void CheckStoredInside(TensorProto tensor, string what)
    {
        if (tensor.DataLocation == TensorProto.Types.DataLocation.External)
        {
            throw new ImportException($"{what} is stored in an external data file; save the model with its weights inside (onnx.save(model, path, save_as_external_data=False))");
        }
    }

    private static long Count(TensorProto tensor, string what)
    {
        long count = 1;
        foreach (long d in tensor.Dims)
        {
            if (d < 0 || (d > 0 && count > (1L << 28) / d))
            {
                throw new ImportException($"{what} has shape [{string.Join(", ", tensor.Dims)}], which is not a weight tensor the importer can hold");
            }

            count *= d;
        }

        return count;
    }

    private static void CheckRawLength(TensorProto tensor, string what, long count, int size)
    {
        if (tensor.RawData.Length != count * size)
        {
            throw new ImportException(string.Create(CultureInfo.InvariantCulture,
                $"{what} has shape [{string.Join(", ", tensor.Dims)}] ({count} values) but {tensor.RawData.Length} bytes of data; the file is damaged"));
        }
    }

    private static T[] Checked<T>(T[] values, long count, string what) =>
        values.Length == count
            ? values
            : throw new ImportException($"{what} should hold {count} values but holds {values.Length}; the file is damaged");
}
