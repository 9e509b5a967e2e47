using Embedded.Rnn.Import.Onnx;
using Embedded.Rnn.Import.Onnx.Schema;
using Embedded.Rnn.Safetensors;
using Google.Protobuf;

namespace Embedded.Rnn.Import;

/// <summary>
/// Reads an ONNX model of LSTM, GRU or RNN nodes into an Embedded.Rnn spec and PyTorch-named weights.
/// </summary>
/// <remarks>
/// Supported: one chain from the graph's one input to its one output of <c>LSTM</c>, <c>GRU</c> or <c>RNN</c> nodes
/// (stacked, forward or bidirectional, with or without B, layout 0 or 1, default activations, an RNN's Tanh or Relu,
/// a GRU with <c>linear_before_reset=1</c>, PyTorch's, or 0, the reset-before GRU), the Transpose/Squeeze/Unsqueeze/Reshape glue exporters such as
/// torch.onnx.export add, and an optional dense head (<c>Gemm</c>, or <c>MatMul</c> + <c>Add</c>) with an optional
/// <c>Sigmoid</c>, <c>Tanh</c> or <c>Softmax</c>. Weights must be stored in the model; initial states must be absent
/// or zero. Refused, naming the node and the attribute or input: <c>clip</c>, peepholes <c>P</c>,
/// <c>input_forget=1</c>, other activations, <c>direction="reverse"</c>,
/// <c>sequence_lens</c>, other operators, and dynamic shapes beyond time and batch.
/// </remarks>
public static class OnnxImport
{
    /// <summary>True when the bytes (the start of a file is enough) look like an ONNX model.</summary>
    public static bool IsOnnx(ReadOnlySpan<byte> start) => ForeignFormats.LooksLikeOnnx(start);

    /// <summary>
    /// True when the start of a file of <paramref name="fileLength"/> bytes looks like an ONNX model and not like
    /// safetensors, some of whose header lengths begin with the bytes an ONNX model begins with.
    /// </summary>
    public static bool IsOnnx(ReadOnlySpan<byte> start, long fileLength) =>
        !ForeignFormats.LooksLikeSafetensors(start, fileLength) && ForeignFormats.LooksLikeOnnx(start);

    /// <summary>Reads the ONNX model at <paramref name="path"/>.</summary>
    /// <exception cref="ImportException">The file is not ONNX, or the graph is not one the importer supports (the message names the node and why).</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static OnnxImportedModel Read(string path) => Parse(File.ReadAllBytes(path));

    /// <summary>Reads an ONNX model held in memory.</summary>
    /// <exception cref="ImportException">The bytes are not ONNX, or the graph is not one the importer supports (the message names the node and why).</exception>
    public static OnnxImportedModel Parse(ReadOnlySpan<byte> bytes)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ImportException($"not a valid ONNX file ({e.Message})", e);
        }

        if (model.Graph is null || model.Graph.Node.Count == 0)
        {
            throw new ImportException("not an ONNX model: it has no graph nodes");
        }

        return new OnnxChainReader(new OnnxGraph(model)).Read();
    }

    /// <summary>
    /// The same model with every recurrent node in layout 0, for ONNX Runtime, whose CPU kernels refuse layout 1
    /// ("batchwise recurrent operations are not supported"). Layout 1 only transposes a node's inputs and outputs
    /// (X and Y [batch, time, ...], initial and final states [batch, directions, hidden]), so each such node reads
    /// Transposes of its inputs and its outputs are transposed back under their own names; nothing else changes.
    /// </summary>
    /// <param name="bytes">An ONNX model.</param>
    /// <param name="rewritten">How many nodes were rewritten.</param>
    /// <exception cref="ImportException">The bytes are not ONNX.</exception>
    public static byte[] WithTimeMajorRecurrentNodes(ReadOnlySpan<byte> bytes, out int rewritten)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes); // unknown fields are kept, so everything else is written back as it was
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ImportException($"not a valid ONNX file ({e.Message})", e);
        }

        rewritten = 0;
        var nodes = new List<NodeProto>();
        foreach (var node in model.Graph?.Node ?? [])
        {
            var layout = node.Attribute.FirstOrDefault(a => a.Name == "layout");
            if (node.OpType is not ("LSTM" or "GRU" or "RNN") || layout is not { I: 1 })
            {
                nodes.Add(node);
                continue;
            }

            string prefix = $"{(node.Name.Length > 0 ? node.Name : node.Output.FirstOrDefault())}/layout0/";
            Transpose(0, [1, 0, 2]); // X: [batch, time, input] -> [time, batch, input]
            Transpose(5, [1, 0, 2]); // initial_h: [batch, directions, hidden] -> [directions, batch, hidden]
            Transpose(6, [1, 0, 2]); // initial_c
            layout.I = 0;
            nodes.Add(node);
            long[][] back = [[2, 0, 1, 3], [1, 0, 2], [1, 0, 2]]; // Y [time, dirs, batch, hidden] -> [batch, time, dirs, hidden]; Y_h, Y_c
            for (int i = 0; i < node.Output.Count && i < back.Length; i++)
            {
                if (node.Output[i].Length > 0)
                {
                    string original = node.Output[i];
                    node.Output[i] = prefix + original;
                    nodes.Add(TransposeNode(node.Output[i], original, back[i], prefix));
                }
            }

            rewritten++;

            void Transpose(int index, long[] perm)
            {
                if (index < node.Input.Count && node.Input[index].Length > 0)
                {
                    string transposed = prefix + node.Input[index];
                    nodes.Add(TransposeNode(node.Input[index], transposed, perm, prefix));
                    node.Input[index] = transposed;
                }
            }
        }

        model.Graph?.Node.Clear();
        model.Graph?.Node.AddRange(nodes);
        return model.ToByteArray();
    }

    private static NodeProto TransposeNode(string input, string output, IEnumerable<long> perm, string prefix) => new()
    {
        Name = prefix + "transpose:" + output,
        OpType = "Transpose",
        Input = { input },
        Output = { output },
        Attribute = { new AttributeProto { Name = "perm", Type = AttributeProto.Types.AttributeType.Ints, Ints = { perm } } },
    };
}
