using System.Globalization;
using System.Text;
using Embedded.Rnn.Import.Onnx.Schema;

namespace Embedded.Rnn.Import.Onnx;

/// <summary>
/// Reads an ONNX graph as one chain from its input to its output: recurrent nodes (LSTM, GRU, RNN), the glue between
/// them, and an optional dense head with its activation. It walks back from the output to the input along each node's
/// data input (so every node the output depends on is accounted for), then forward, following what every axis holds
/// (time, batch, directions, features) through each Transpose, Squeeze, Unsqueeze and Reshape. Whatever does not fit
/// is refused with the node's name and the reason; nothing is dropped silently.
/// </summary>
internal sealed class OnnxChainReader
{
    private const string Supported = "the importer reads LSTM, GRU and RNN nodes, the Transpose/Squeeze/Unsqueeze/Reshape glue exporters add, " +
        "and a dense head (Gemm, or MatMul + Add) with an optional Sigmoid, Tanh or Softmax";

    // Sizes the analysis gives a dynamic time or batch axis: primes no model size is likely to equal, so a Reshape that
    // merges or splits them is recognised by its arithmetic. The golden run uses real sizes.
    private static readonly long[] ProbeSizes = [1009, 1013];

    private readonly OnnxGraph _graph;
    private readonly List<string> _roles = [];
    private readonly List<Layer> _layers = [];
    private string _inputName = "";
    private string _outputName = "";
    private int?[] _fixedInput = [null, null];
    private int? _inputFeatures;
    private AxisLabel? _time;
    private string? _cell;
    private string? _activation;
    private string? _reset;
    private int _hidden;
    private int _directions;
    private Stage _stage = Stage.Input;
    private float[]? _headWeight; // [output, features], PyTorch's nn.Linear layout
    private float[]? _headBias;
    private int _headOutput;
    private string? _headActivation;

    public OnnxChainReader(OnnxGraph graph) => _graph = graph;

    private enum Stage
    {
        Input,
        Recurrent,
        HeadLinear,
        HeadBiased,
        Activated,
    }

    public OnnxImportedModel Read()
    {
        var chain = FindChain();
        CheckEveryLayerIsOnTheChain(chain);
        var dims = new Dim[]
        {
            Dim.Of(AxisLabel.X0, _fixedInput[0] ?? ProbeSizes[0]),
            Dim.Of(AxisLabel.X1, _fixedInput[1] ?? ProbeSizes[1]),
            Dim.Of(AxisLabel.Feature, _inputFeatures ?? 0),
        };
        foreach (var node in chain)
        {
            dims = Apply(node, dims);
        }

        if (_stage == Stage.Input)
        {
            throw new ImportException($"the graph has no LSTM, GRU or RNN node between input '{_inputName}' and output '{_outputName}'");
        }

        CheckOutput(dims);
        var spec = new ImportedSpec(_cell!, _layers[0].Input, _hidden, _layers.Count, _directions == 2, _layers.Any(l => l.HasBias),
            _cell == "rnn" ? _activation : null, _headWeight is null ? null : _headOutput, _headWeight is null ? null : _headActivation ?? "none", _reset);
        var signature = new OnnxSignature(_inputName, _outputName, _time!.Value, _fixedInput, _layers[0].Input, dims, _directions, _hidden);
        return new OnnxImportedModel(spec, Tensors(spec), signature, _roles, _graph.Opset, ProducerText());
    }

    private string ProducerText()
    {
        var model = _graph.Model;
        string producer = (model.ProducerName + " " + model.ProducerVersion).Trim();
        return producer.Length == 0 ? "unknown producer" : producer;
    }

    // ---- the chain -------------------------------------------------------------------------------------------------

    private List<NodeProto> FindChain()
    {
        var inputs = _graph.Graph.Input.Where(i => !_graph.IsInitializer(i.Name)).ToList();
        foreach (var input in inputs)
        {
            // A graph input fed as a recurrent node's initial state (an export for step-by-step streaming).
            var states = _graph.Consumers(input.Name).Where(n => IsRecurrent(n) && n.Input.IndexOf(input.Name) is 5 or 6).ToList();
            if (inputs.Count > 1 && states.Count > 0)
            {
                throw new ImportException($"graph input '{input.Name}' is the initial state of {_graph.Name(states[0])} (input {(states[0].Input.IndexOf(input.Name) == 5 ? "initial_h" : "initial_c")}); " +
                    "the importer reads models that start from a zero state (the imported model keeps its state in State, which you can set): export without passing the state in");
            }
        }

        if (inputs.Count != 1)
        {
            throw new ImportException(inputs.Count == 0
                ? "the graph has no input (besides its weights)"
                : $"the graph has {inputs.Count} inputs ({string.Join(", ", inputs.Select(i => $"'{i.Name}'"))}); the importer reads models with one sequence input, whose weights and initial states are stored in the model");
        }

        if (_graph.Graph.Output.Count != 1)
        {
            throw new ImportException($"the graph has {_graph.Graph.Output.Count} outputs ({string.Join(", ", _graph.Graph.Output.Select(o => $"'{o.Name}'"))}); the importer reads models with one output, the sequence of outputs (export only that, e.g. return y rather than y, (h, c))");
        }

        _inputName = inputs[0].Name;
        _outputName = _graph.Graph.Output[0].Name;
        ReadInputType(inputs[0]);

        var chain = new List<NodeProto>();
        string value = _outputName;
        while (value != _inputName)
        {
            var node = _graph.Producer(value)
                ?? throw new ImportException(_graph.IsInitializer(value)
                    ? $"the graph output '{_outputName}' is a constant, not computed from input '{_inputName}'"
                    : $"value '{value}' is used on the way to output '{_outputName}' but no node produces it and it is not input '{_inputName}'");
            if (chain.Count > _graph.Graph.Node.Count)
            {
                throw new ImportException($"the graph has a cycle through {_graph.Name(node)}");
            }

            int output = node.Output.IndexOf(value);
            if (output != 0)
            {
                throw new ImportException($"{_graph.Name(node)}: output {output} ('{value}') leads to the graph output; only its first output ({(IsRecurrent(node) ? "Y, the sequence of hidden states" : "the result")}) can be followed" +
                    (IsRecurrent(node) ? ": Y_h and Y_c hold the last step only, and the imported model outputs every step" : string.Empty));
            }

            chain.Add(node);
            value = node.Input[DataInput(node)];
        }

        chain.Reverse();
        return chain;
    }

    private void ReadInputType(ValueInfoProto input)
    {
        var tensor = input.Type?.TensorType;
        if (input.Type is not null && input.Type.ValueCase != TypeProto.ValueOneofCase.TensorType)
        {
            throw new ImportException($"graph input '{input.Name}' is not a tensor");
        }

        if (tensor is null)
        {
            return;
        }

        if (tensor.ElemType != 0 && tensor.ElemType != (int)TensorProto.Types.DataType.Float)
        {
            throw new ImportException($"graph input '{input.Name}' is {OnnxGraph.DataTypeName(tensor.ElemType)}; the importer reads float32 inputs");
        }

        if (tensor.Shape is null)
        {
            return;
        }

        var dims = tensor.Shape.Dim;
        if (dims.Count != 3)
        {
            throw new ImportException($"graph input '{input.Name}' has {dims.Count} dimensions; a sequence input has 3 ([time, batch, features] or [batch, time, features])");
        }

        for (int i = 0; i < 2; i++)
        {
            if (dims[i].ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue)
            {
                _fixedInput[i] = dims[i].DimValue is > 0 and <= 1 << 20
                    ? (int)dims[i].DimValue
                    : throw new ImportException($"graph input '{input.Name}' has {dims[i].DimValue} as dimension {i}; a fixed time or batch size must be between 1 and {1 << 20}");
            }
        }

        if (dims[2].ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue)
        {
            throw new ImportException($"graph input '{input.Name}' has a dynamic feature axis ('{dims[2].DimParam}'); only time and batch may be dynamic");
        }

        _inputFeatures = dims[2].DimValue is > 0 and <= 1 << 20
            ? (int)dims[2].DimValue
            : throw new ImportException($"graph input '{input.Name}' has {dims[2].DimValue} features per step");
    }

    // Which input of a node carries the sequence (the others must be constants).
    private int DataInput(NodeProto node)
    {
        CheckDomain(node);
        switch (node.OpType)
        {
            case "LSTM" or "GRU" or "RNN" or "Transpose" or "Squeeze" or "Unsqueeze" or "Reshape" or "Identity" or "Sigmoid" or "Tanh" or "Softmax" or "MatMul" or "Gemm":
                if (OnnxGraph.Input(node, 0) is null)
                {
                    throw new ImportException($"{_graph.Name(node)} has no first input");
                }

                return 0;
            case "Add":
                bool first = node.Input.Count > 0 && _graph.Constant(node.Input[0]) is not null;
                bool second = node.Input.Count > 1 && _graph.Constant(node.Input[1]) is not null;
                if (node.Input.Count != 2 || first == second)
                {
                    throw new ImportException($"{_graph.Name(node)} adds two computed values; the importer reads an Add only as the head's bias (a constant added to MatMul's result)");
                }

                return first ? 1 : 0;
            case "Slice" or "Gather" or "GatherElements" or "ReduceMean" or "ReduceSum" or "ReduceMax":
                throw new ImportException($"{_graph.Name(node)} takes part of the sequence (e.g. its last step) on the way to the output; the imported model outputs every step: export the module without it and take the step you need yourself. ({Supported}.)");
            default:
                throw new ImportException($"{_graph.Name(node)} is not supported on the way from input '{_inputName}' to output '{_outputName}': {Supported}.");
        }
    }

    private void CheckDomain(NodeProto node)
    {
        if (node.Domain is not ("" or "ai.onnx"))
        {
            throw new ImportException($"{_graph.Name(node)} is from operator domain '{node.Domain}'; the importer reads ONNX's standard operators");
        }
    }

    // Every recurrent or dense node must be on the chain: a second chain, or a layer whose output nobody reads, would
    // otherwise be lost without a word.
    private void CheckEveryLayerIsOnTheChain(List<NodeProto> chain)
    {
        var onChain = new HashSet<NodeProto>(chain, ReferenceEqualityComparer.Instance);
        foreach (var node in _graph.Graph.Node)
        {
            if (!onChain.Contains(node) && (IsRecurrent(node) || node.OpType is "Gemm" or "MatMul"))
            {
                throw new ImportException($"{_graph.Name(node)} is not on the path from input '{_inputName}' to output '{_outputName}'; " +
                    "the importer reads one chain of layers (several chains, or a layer whose output is not used, cannot become one model)");
            }
        }
    }

    private static bool IsRecurrent(NodeProto node) => node.OpType is "LSTM" or "GRU" or "RNN";

    // ---- following the axes ----------------------------------------------------------------------------------------

    private Dim[] Apply(NodeProto node, Dim[] dims)
    {
        switch (node.OpType)
        {
            case "LSTM" or "GRU" or "RNN":
                return Recurrent(node, dims);
            case "Identity":
                _roles.Add($"{_graph.Name(node)}: glue");
                return dims;
            case "Transpose":
                var perm = Ints(node, "perm") ?? Enumerable.Range(0, dims.Length).Reverse().Select(i => (long)i).ToArray();
                if (perm.Length != dims.Length || perm.Order().Select((p, i) => p == i).Any(same => !same))
                {
                    throw new ImportException($"{_graph.Name(node)}: attribute perm [{string.Join(", ", perm)}] does not permute {dims.Length} axes");
                }

                _roles.Add($"{_graph.Name(node)}: glue, perm [{string.Join(", ", perm)}]");
                return perm.Select(p => dims[p]).ToArray();
            case "Squeeze":
                return Squeeze(node, dims);
            case "Unsqueeze":
                return Unsqueeze(node, dims);
            case "Reshape":
                return Reshape(node, dims);
            case "MatMul":
                return MatMul(node, dims);
            case "Add":
                return HeadBias(node, dims);
            case "Gemm":
                return Gemm(node, dims);
            default: // Sigmoid, Tanh, Softmax (DataInput refused everything else)
                return HeadActivation(node, dims);
        }
    }

    private Dim[] Squeeze(NodeProto node, Dim[] dims)
    {
        long[]? axes = Ints(node, "axes") ?? ConstantInts(node, 1, "axes");
        var squeezed = axes is null
            ? Enumerable.Range(0, dims.Length).Where(i => dims[i].Size == 1).ToHashSet()
            : axes.Select(a => Axis(node, a, dims.Length)).ToHashSet();
        foreach (int axis in squeezed)
        {
            if (dims[axis].Size != 1)
            {
                throw new ImportException($"{_graph.Name(node)} squeezes axis {axis}, which holds {Describe(dims[axis])} of size {dims[axis].Size}, not 1");
            }
        }

        _roles.Add($"{_graph.Name(node)}: glue, axes [{string.Join(", ", squeezed.Order())}]");
        return dims.Where((_, i) => !squeezed.Contains(i)).ToArray();
    }

    private Dim[] Unsqueeze(NodeProto node, Dim[] dims)
    {
        long[] axes = Ints(node, "axes") ?? ConstantInts(node, 1, "axes")
            ?? throw new ImportException($"{_graph.Name(node)} has no axes");
        int rank = dims.Length + axes.Length;
        var inserted = axes.Select(a => Axis(node, a, rank)).ToHashSet();
        if (inserted.Count != axes.Length)
        {
            // Each axis inserts one dimension: a repeat ([0, 0], or [0, -5] of rank 5) would leave the output a rank short.
            throw new ImportException($"{_graph.Name(node)}: axes [{string.Join(", ", axes)}] name the same output axis twice (of {rank} dimensions); each axis must be inserted once");
        }

        var result = new List<Dim>();
        int next = 0;
        for (int i = 0; i < rank; i++)
        {
            result.Add(inserted.Contains(i) ? Dim.Of(AxisLabel.One, 1) : dims[next++]);
        }

        _roles.Add($"{_graph.Name(node)}: glue, axes [{string.Join(", ", inserted.Order())}]");
        return result.ToArray();
    }

    private Dim[] Reshape(NodeProto node, Dim[] dims)
    {
        long[] shape = ConstantInts(node, 1, "shape")
            ?? throw new ImportException($"{_graph.Name(node)}: its shape (input '{OnnxGraph.Input(node, 1)}') is computed at run time; the importer follows Reshapes to a constant shape (0 copies an axis, -1 infers one), as exporters write them");
        bool allowZero = Int(node, "allowzero") == 1;
        long total = dims.Aggregate(1L, (p, d) => p * d.Size);
        var sizes = new long[shape.Length];
        int infer = -1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 0 && !allowZero)
            {
                sizes[i] = i < dims.Length ? dims[i].Size : throw new ImportException($"{_graph.Name(node)}: shape [{string.Join(", ", shape)}] copies axis {i}, which the input does not have");
            }
            else if (shape[i] == -1 && infer < 0)
            {
                infer = i;
            }
            else if (shape[i] > 0)
            {
                sizes[i] = shape[i];
            }
            else
            {
                throw new ImportException($"{_graph.Name(node)}: shape [{string.Join(", ", shape)}] is not one the importer can follow");
            }
        }

        if (infer >= 0)
        {
            long known = sizes.Where((_, i) => i != infer).Aggregate(1L, (p, s) => p * s);
            sizes[infer] = known == 0 ? 0 : total / known;
        }

        if (sizes.Aggregate(1L, (p, s) => p * s) != total)
        {
            throw new ImportException($"{_graph.Name(node)}: shape [{string.Join(", ", shape)}] does not hold the {Describe(dims)} it reshapes");
        }

        // Axes of size 1 carry nothing; the others are matched in groups of equal size (a merge or a split).
        var input = dims.Where(d => d.Size != 1).ToList();
        var result = sizes.Select(s => s == 1 ? Dim.Of(AxisLabel.One, 1) : null).ToArray();
        var open = Enumerable.Range(0, sizes.Length).Where(i => sizes[i] != 1).ToList();
        int a = 0, b = 0;
        while (a < input.Count || b < open.Count)
        {
            var groupIn = new List<Dim>();
            var groupOut = new List<int>();
            long inSize = 1, outSize = 1;
            do
            {
                if (inSize <= outSize && a < input.Count)
                {
                    groupIn.Add(input[a]);
                    inSize *= input[a++].Size;
                }
                else if (b < open.Count)
                {
                    groupOut.Add(open[b]);
                    outSize *= sizes[open[b++]];
                }
                else
                {
                    break;
                }
            }
            while (inSize != outSize || groupIn.Count == 0 || groupOut.Count == 0);

            var mapped = Regroup(node, groupIn, groupOut.Select(i => sizes[i]).ToArray());
            for (int i = 0; i < groupOut.Count; i++)
            {
                result[groupOut[i]] = mapped[i];
            }
        }

        _roles.Add($"{_graph.Name(node)}: glue, shape [{string.Join(", ", shape)}]");
        return result.Select(d => d!).ToArray();
    }

    // A merge of axes into one, or a split of one into several, that keeps each step's features together.
    private Dim[] Regroup(NodeProto node, List<Dim> from, long[] to)
    {
        if (from.Count == 1 && to.Length == 1)
        {
            return [from[0]];
        }

        var parts = from.SelectMany(d => d.Parts).ToArray();
        if (to.Length == 1)
        {
            if (parts is [AxisLabel.Direction, AxisLabel.Hidden])
            {
                return [Dim.Of(AxisLabel.Feature, to[0])]; // both directions' hidden states, forward first: PyTorch's layout
            }

            if (parts is [AxisLabel.X0, AxisLabel.X1] or [AxisLabel.X1, AxisLabel.X0])
            {
                return [new Dim(parts, to[0])]; // time and batch as one axis (a 2-D Gemm head)
            }
        }
        else if (from.Count == 1 && to.Length == 2)
        {
            if (parts.Length == 2 && parts.All(p => p is AxisLabel.X0 or AxisLabel.X1) && to[0] == SizeOf(parts[0]) && to[1] == SizeOf(parts[1]))
            {
                return [Dim.Of(parts[0], to[0]), Dim.Of(parts[1], to[1])];
            }

            if (from[0].IsSingle(AxisLabel.Feature) && _stage == Stage.Recurrent && _directions == 2 && to[0] == 2 && to[1] == _hidden)
            {
                return [Dim.Of(AxisLabel.Direction, 2), Dim.Of(AxisLabel.Hidden, _hidden)];
            }
        }

        throw new ImportException($"{_graph.Name(node)} reshapes {Describe(from.ToArray())} into [{string.Join(", ", to)}], which mixes what the axes hold " +
            "(time, batch, directions, features); the importer follows reshapes that merge or split the directions and hidden units, or time and batch");
    }

    private long SizeOf(AxisLabel label) => label switch
    {
        AxisLabel.X0 => _fixedInput[0] ?? ProbeSizes[0],
        AxisLabel.X1 => _fixedInput[1] ?? ProbeSizes[1],
        _ => 0,
    };

    // ---- recurrent nodes -------------------------------------------------------------------------------------------

    private sealed record Layer(string Node, int Input, bool HasBias, float[] W, float[] R, float[]? B);

    private Dim[] Recurrent(NodeProto node, Dim[] dims)
    {
        string cell = node.OpType switch { "LSTM" => "lstm", "GRU" => "gru", _ => "rnn" };
        int gates = cell switch { "lstm" => 4, "gru" => 3, _ => 1 };
        if (_stage != Stage.Input && _stage != Stage.Recurrent)
        {
            throw new ImportException($"{_graph.Name(node)} comes after the dense head; the head must be the last layer");
        }

        if (_cell is not null && _cell != cell)
        {
            throw new ImportException($"{_graph.Name(node)} is an {node.OpType} after {_cell.ToUpperInvariant()} layers; a model has one cell kind");
        }

        var known = new HashSet<string>(StringComparer.Ordinal) { "activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size", "layout" };
        known.Add(cell switch { "lstm" => "input_forget", "gru" => "linear_before_reset", _ => "activations" });
        foreach (var attribute in node.Attribute)
        {
            if (!known.Contains(attribute.Name))
            {
                throw new ImportException($"{_graph.Name(node)}: attribute '{attribute.Name}' is not one of {node.OpType}'s");
            }
        }

        foreach (string name in new[] { "activation_alpha", "activation_beta" })
        {
            if (Attribute(node, name) is not null)
            {
                throw new ImportException($"{_graph.Name(node)}: attribute '{name}' is given; the importer supports the default activations, which take no parameters");
            }
        }

        if (Attribute(node, "clip") is not null)
        {
            throw new ImportException($"{_graph.Name(node)}: attribute 'clip' is given (the cell clips its gate inputs); Embedded.Rnn's cells do not clip, so the model would compute something else");
        }

        string direction = String(node, "direction") ?? "forward";
        int directions = direction switch
        {
            "forward" => 1,
            "bidirectional" => 2,
            "reverse" => throw new ImportException($"{_graph.Name(node)}: attribute 'direction' is 'reverse' (the layer reads the sequence backwards only); Embedded.Rnn's layers run forward, or both ways when bidirectional"),
            _ => throw new ImportException($"{_graph.Name(node)}: attribute 'direction' is '{direction}'; ONNX allows forward, reverse and bidirectional"),
        };
        long layout = Int(node, "layout") ?? 0;
        if (layout is not (0 or 1))
        {
            throw new ImportException($"{_graph.Name(node)}: attribute 'layout' is {layout}; ONNX allows 0 ([time, batch, ...]) and 1 ([batch, time, ...])");
        }

        if (cell == "lstm" && Int(node, "input_forget") is long coupled && coupled != 0)
        {
            throw new ImportException($"{_graph.Name(node)}: attribute 'input_forget' is {coupled} (input and forget gates coupled); Embedded.Rnn's LSTM has independent gates, as PyTorch's");
        }

        string? reset = cell == "gru" ? ResetConvention(node) : null;

        var w = Weights(node, 1, "W");
        var r = Weights(node, 2, "R");
        var wDims = OnnxGraph.Dims(w.Tensor, w.What);
        var rDims = OnnxGraph.Dims(r.Tensor, r.What);
        if (rDims.Length != 3 || rDims[0] != directions || rDims[2] <= 0 || rDims[1] != (long)gates * rDims[2])
        {
            throw new ImportException($"{_graph.Name(node)}: input R has shape [{string.Join(", ", rDims)}]; a {direction} {node.OpType} needs [{directions}, {gates}·hidden, hidden]");
        }

        int hidden = rDims[2];
        if (Int(node, "hidden_size") is long declared && declared != hidden)
        {
            throw new ImportException($"{_graph.Name(node)}: attribute 'hidden_size' is {declared} but R has shape [{string.Join(", ", rDims)}] (hidden {hidden})");
        }

        if (wDims.Length != 3 || wDims[0] != directions || wDims[1] != (long)gates * hidden || wDims[2] <= 0)
        {
            throw new ImportException($"{_graph.Name(node)}: input W has shape [{string.Join(", ", wDims)}]; a {direction} {node.OpType} with hidden {hidden} needs [{directions}, {gates * hidden}, input]");
        }

        int inputSize = wDims[2];
        float[]? bias = null;
        if (OnnxGraph.Input(node, 3) is not null)
        {
            var b = Weights(node, 3, "B");
            var bDims = OnnxGraph.Dims(b.Tensor, b.What);
            if (bDims.Length != 2 || bDims[0] != directions || bDims[1] != 2L * gates * hidden)
            {
                throw new ImportException($"{_graph.Name(node)}: input B has shape [{string.Join(", ", bDims)}]; it needs [{directions}, {2L * gates * hidden}] (Wb then Rb)");
            }

            bias = OnnxGraph.Weights(b.Tensor, b.What);
        }

        string activation = Activations(node, cell, directions);
        if (OnnxGraph.Input(node, 4) is string lengths)
        {
            throw new ImportException($"{_graph.Name(node)}: input sequence_lens ('{lengths}') is given; the importer reads models without per-sequence lengths (every sequence runs all its steps)");
        }

        foreach (var (index, name) in cell == "lstm" ? new[] { (5, "initial_h"), (6, "initial_c") } : [(5, "initial_h")])
        {
            if (OnnxGraph.Input(node, index) is string state && !_graph.IsZero(state))
            {
                throw new ImportException($"{_graph.Name(node)}: input {name} ('{state}') is {(_graph.IsGraphInput(state) ? "a graph input" : "not zero")}; the imported model starts from a zero state " +
                    "(set its State to start elsewhere), so the ONNX model must too");
            }
        }

        if (cell == "lstm" && OnnxGraph.Input(node, 7) is string peepholes)
        {
            throw new ImportException($"{_graph.Name(node)}: input P ('{peepholes}', peephole weights) is given; Embedded.Rnn's LSTM has no peepholes, as PyTorch's");
        }

        for (int output = 1; output < node.Output.Count; output++)
        {
            string value = node.Output[output];
            if (value.Length > 0 && (_graph.Consumers(value).Count > 0 || _graph.Graph.Output.Any(o => o.Name == value)))
            {
                throw new ImportException($"{_graph.Name(node)}: output {(output == 1 ? "Y_h" : "Y_c")} ('{value}') is used; the importer reads models whose layers pass on Y, the whole sequence");
            }
        }

        // The layer's input must be [time, batch, features] (layout 0) or [batch, time, features] (layout 1).
        int timeAt = layout == 0 ? 0 : 1, batchAt = 1 - timeAt;
        if (dims.Length != 3 || dims[timeAt].Parts.Length != 1 || dims[batchAt].Parts.Length != 1
            || dims[timeAt].Label is not (AxisLabel.X0 or AxisLabel.X1) || dims[batchAt].Label is not (AxisLabel.X0 or AxisLabel.X1)
            || dims[timeAt].Label == dims[batchAt].Label || !dims[2].IsSingle(AxisLabel.Feature))
        {
            throw new ImportException($"{_graph.Name(node)}: its input X holds {Describe(dims)}; with layout {layout} it must be {(layout == 0 ? "[time, batch, features]" : "[batch, time, features]")}");
        }

        _time ??= dims[timeAt].Label;
        if (dims[timeAt].Label != _time)
        {
            throw new ImportException($"{_graph.Name(node)} reads the batch axis of the graph input as time; the layers before it read the other axis");
        }

        if (_inputFeatures is null && _layers.Count == 0)
        {
            _inputFeatures = inputSize;
            dims[2] = Dim.Of(AxisLabel.Feature, inputSize);
        }

        if (dims[2].Size != inputSize)
        {
            throw new ImportException($"{_graph.Name(node)}: input W expects {inputSize} features per step, but its input X has {dims[2].Size}");
        }

        if (_layers.Count > 0 && (hidden != _hidden || directions != _directions))
        {
            throw new ImportException($"{_graph.Name(node)} has hidden {hidden}, {direction}; the layers before it have hidden {_hidden}, {(_directions == 2 ? "bidirectional" : "forward")}: a model's layers share both");
        }

        if (_activation is not null && _activation != activation)
        {
            throw new ImportException($"{_graph.Name(node)}: attribute 'activations' gives {activation}, the layers before it {_activation}; a model's layers share one activation");
        }

        if (_layers.Count > 0 && reset != _reset)
        {
            static string Convention(string? value) => value is null ? "1 (PyTorch's GRU)" : "0 (the reset-before GRU)";
            throw new ImportException($"{_graph.Name(node)}: attribute 'linear_before_reset' is {Convention(reset)}, the layers before it {Convention(_reset)}; a model's layers share one GRU convention");
        }

        _cell = cell;
        _hidden = hidden;
        _directions = directions;
        _activation = activation;
        _reset = reset;
        _stage = Stage.Recurrent;
        _layers.Add(new Layer(_graph.Name(node), inputSize, bias is not null, OnnxGraph.Weights(w.Tensor, w.What), OnnxGraph.Weights(r.Tensor, r.What), bias));
        _roles.Add(string.Create(CultureInfo.InvariantCulture,
            $"{_graph.Name(node)}: layer {_layers.Count - 1}, {cell}, input {inputSize}, hidden {hidden}, {direction}, {(bias is null ? "without" : "with")} bias, layout {layout}") +
            (cell == "rnn" ? $", {activation}" : string.Empty));

        // Y is [time, directions, batch, hidden] (layout 0) or [batch, time, directions, hidden] (layout 1).
        var time = dims[timeAt];
        var batch = dims[batchAt];
        var dir = directions == 1 ? Dim.Of(AxisLabel.One, 1) : Dim.Of(AxisLabel.Direction, 2);
        var units = Dim.Of(directions == 1 ? AxisLabel.Feature : AxisLabel.Hidden, hidden);
        return layout == 0 ? [time, dir, batch, units] : [batch, time, dir, units];
    }

    /// <summary>
    /// The GRU's reset convention, the one place that reads linear_before_reset: 1 is PyTorch's GRU (the reset gate
    /// scales the recurrent product, spec default); 0, ONNX's default, is the reset-before GRU (<c>"reset": "before"</c>:
    /// the reset gate scales h before W_hn). Both take B as [Wb, Rb], which is bias_ih and bias_hh either way.
    /// </summary>
    private string? ResetConvention(NodeProto node)
    {
        long linearBeforeReset = Int(node, "linear_before_reset") ?? 0;
        return linearBeforeReset switch
        {
            1 => null,
            0 => "before",
            _ => throw new ImportException($"{_graph.Name(node)}: attribute 'linear_before_reset' is {linearBeforeReset}; ONNX allows 0 and 1"),
        };
    }

    // The activations attribute may only restate ONNX's defaults (an RNN may say Relu): anything else is refused.
    private string Activations(NodeProto node, string cell, int directions)
    {
        string[] defaults = cell switch { "lstm" => ["Sigmoid", "Tanh", "Tanh"], "gru" => ["Sigmoid", "Tanh"], _ => ["Tanh"] };
        var attribute = Attribute(node, "activations");
        if (attribute is null)
        {
            return "tanh";
        }

        var given = attribute.Strings.Select(s => s.ToStringUtf8()).ToArray();
        if (given.Length != defaults.Length * directions)
        {
            throw new ImportException($"{_graph.Name(node)}: attribute 'activations' has {given.Length} entries ({string.Join(", ", given)}); a {(directions == 2 ? "bidirectional" : "forward")} {node.OpType} has {defaults.Length * directions}");
        }

        if (cell == "rnn")
        {
            if (given.Any(g => !g.Equals(given[0], StringComparison.OrdinalIgnoreCase)) || !(given[0].Equals("Tanh", StringComparison.OrdinalIgnoreCase) || given[0].Equals("Relu", StringComparison.OrdinalIgnoreCase)))
            {
                throw new ImportException($"{_graph.Name(node)}: attribute 'activations' is [{string.Join(", ", given)}]; the importer supports Tanh or Relu, the same in both directions");
            }

            return given[0].ToLowerInvariant();
        }

        for (int i = 0; i < given.Length; i++)
        {
            if (!given[i].Equals(defaults[i % defaults.Length], StringComparison.OrdinalIgnoreCase))
            {
                throw new ImportException($"{_graph.Name(node)}: attribute 'activations' is [{string.Join(", ", given)}]; the importer supports {node.OpType}'s defaults only ({string.Join(", ", defaults)} per direction)");
            }
        }

        return "tanh";
    }

    private (TensorProto Tensor, string What) Weights(NodeProto node, int index, string role)
    {
        string value = OnnxGraph.Input(node, index) ?? throw new ImportException($"{_graph.Name(node)} has no input {role}");
        string what = $"input {role} ('{value}') of {_graph.Name(node)}";
        if (_graph.Constant(value) is { } tensor)
        {
            return (tensor, what);
        }

        if (_graph.IsGraphInput(value))
        {
            throw new ImportException($"{what} is a graph input, not an initializer; the weights must be stored in the model (torch.onnx.export does so unless export_params=False)");
        }

        var producer = _graph.Producer(value);
        throw new ImportException(producer is null
            ? $"{what} is neither an initializer nor computed in the graph"
            : $"{what} is computed by {_graph.Name(producer)} at run time, not stored; export with constant folding (torch.onnx.export(..., do_constant_folding=True))");
    }

    // ---- the head --------------------------------------------------------------------------------------------------

    private Dim[] MatMul(NodeProto node, Dim[] dims)
    {
        CheckHeadStart(node);
        var weight = HeadConstant(node, 1, "B (the weight)");
        var shape = OnnxGraph.Dims(weight.Tensor, weight.What);
        int features = CheckFeaturesLast(node, dims);
        if (shape.Length != 2 || shape[0] != features)
        {
            throw new ImportException($"{_graph.Name(node)}: {weight.What} has shape [{string.Join(", ", shape)}]; a dense head on {features} features needs [{features}, outputs]");
        }

        SetHead(Transpose(OnnxGraph.Weights(weight.Tensor, weight.What), shape[0], shape[1]), shape[1], bias: null);
        _stage = Stage.HeadLinear;
        _roles.Add($"{_graph.Name(node)}: head, {features} -> {shape[1]}");
        return [.. dims[..^1], Dim.Of(AxisLabel.Feature, shape[1])];
    }

    private Dim[] HeadBias(NodeProto node, Dim[] dims)
    {
        if (_stage != Stage.HeadLinear)
        {
            throw new ImportException($"{_graph.Name(node)} adds a constant {(_stage == Stage.Recurrent ? "to a recurrent layer's output" : "after the head's bias")}; the importer reads an Add only as the bias of a MatMul head");
        }

        int index = _graph.Constant(node.Input[0]) is not null ? 0 : 1;
        var bias = HeadConstant(node, index, "the bias");
        var shape = OnnxGraph.Dims(bias.Tensor, bias.What);
        if (shape.Length == 0 || shape[^1] != _headOutput || shape[..^1].Any(d => d != 1) || shape.Length > dims.Length)
        {
            throw new ImportException($"{_graph.Name(node)}: {bias.What} has shape [{string.Join(", ", shape)}]; the head's bias is [{_headOutput}]");
        }

        _headBias = OnnxGraph.Weights(bias.Tensor, bias.What);
        _stage = Stage.HeadBiased;
        _roles.Add($"{_graph.Name(node)}: head bias");
        return dims;
    }

    private Dim[] Gemm(NodeProto node, Dim[] dims)
    {
        CheckHeadStart(node);
        if (Int(node, "transA") is long transA && transA != 0)
        {
            throw new ImportException($"{_graph.Name(node)}: attribute 'transA' is {transA}; the head must multiply the features as rows (transA = 0)");
        }

        if (dims.Length != 2)
        {
            throw new ImportException($"{_graph.Name(node)}: its input holds {Describe(dims)}; Gemm takes 2 dimensions (reshape time and batch into one first)");
        }

        int features = CheckFeaturesLast(node, dims);
        bool transB = Int(node, "transB") is long t && t != 0;
        float alpha = Float(node, "alpha") ?? 1f, beta = Float(node, "beta") ?? 1f;
        var weight = HeadConstant(node, 1, "B (the weight)");
        var shape = OnnxGraph.Dims(weight.Tensor, weight.What);
        if (shape.Length != 2 || shape[transB ? 1 : 0] != features)
        {
            throw new ImportException($"{_graph.Name(node)}: {weight.What} has shape [{string.Join(", ", shape)}]; with transB = {(transB ? 1 : 0)} a head on {features} features needs {(transB ? $"[outputs, {features}]" : $"[{features}, outputs]")}");
        }

        int outputs = shape[transB ? 0 : 1];
        var values = OnnxGraph.Weights(weight.Tensor, weight.What);
        var matrix = transB ? values : Transpose(values, shape[0], shape[1]);
        float[]? bias = null;
        if (OnnxGraph.Input(node, 2) is not null)
        {
            var c = HeadConstant(node, 2, "C (the bias)");
            var cShape = OnnxGraph.Dims(c.Tensor, c.What);
            var cValues = OnnxGraph.Weights(c.Tensor, c.What);
            if (cValues.Length == 1)
            {
                bias = Enumerable.Repeat(cValues[0], outputs).ToArray();
            }
            else if (cShape.Length >= 1 && cShape[^1] == outputs && cValues.Length == outputs)
            {
                bias = cValues;
            }
            else
            {
                throw new ImportException($"{_graph.Name(node)}: {c.What} has shape [{string.Join(", ", cShape)}]; the head's bias is [{outputs}] (the same for every row)");
            }
        }

        // alpha and beta scale the product and the bias: folded into the weights (exact for the usual 1).
        SetHead(matrix.Select(v => v * alpha).ToArray(), outputs, bias?.Select(v => v * beta).ToArray());
        _stage = Stage.HeadBiased;
        _roles.Add($"{_graph.Name(node)}: head, {features} -> {outputs}");
        return [dims[0], Dim.Of(AxisLabel.Feature, outputs)];
    }

    private Dim[] HeadActivation(NodeProto node, Dim[] dims)
    {
        if (_stage is not (Stage.HeadLinear or Stage.HeadBiased))
        {
            throw new ImportException(_stage == Stage.Activated
                ? $"{_graph.Name(node)} is a second activation after the head; the head has one"
                : $"{_graph.Name(node)} applies an activation without a dense head before it; Embedded.Rnn applies {node.OpType} only as the head's activation");
        }

        if (node.OpType == "Softmax")
        {
            long axis = Int(node, "axis") ?? (_graph.Opset is > 0 and < 13 ? 1 : -1);
            int at = Axis(node, axis, dims.Length);
            // Before opset 13 Softmax normalises over every axis from `axis` on: the same when the rest have size 1.
            bool overFeatures = dims[at].IsSingle(AxisLabel.Feature) && (_graph.Opset >= 13 || dims.Skip(at + 1).All(d => d.Size == 1));
            if (!overFeatures)
            {
                throw new ImportException($"{_graph.Name(node)}: attribute 'axis' ({axis}) is the axis of {Describe(dims[at])}; the head's softmax must normalise over its outputs");
            }
        }

        _headActivation = node.OpType.ToLowerInvariant();
        _stage = Stage.Activated;
        _roles.Add($"{_graph.Name(node)}: head activation");
        return dims;
    }

    private void CheckHeadStart(NodeProto node)
    {
        if (_stage != Stage.Recurrent)
        {
            throw new ImportException(_stage == Stage.Input
                ? $"{_graph.Name(node)} comes before the recurrent layers; the importer reads a dense head after them only"
                : $"{_graph.Name(node)} is a second dense layer; the importer reads one dense head");
        }
    }

    private int CheckFeaturesLast(NodeProto node, Dim[] dims)
    {
        if (dims.Length == 0 || !dims[^1].IsSingle(AxisLabel.Feature))
        {
            throw new ImportException($"{_graph.Name(node)}: its input holds {Describe(dims)}; a dense head needs each step's features on the last axis");
        }

        return (int)dims[^1].Size;
    }

    private (TensorProto Tensor, string What) HeadConstant(NodeProto node, int index, string role)
    {
        string value = OnnxGraph.Input(node, index) ?? throw new ImportException($"{_graph.Name(node)} has no input {role}");
        string what = $"input {role} ('{value}') of {_graph.Name(node)}";
        return _graph.Constant(value) is { } tensor
            ? (tensor, what)
            : throw new ImportException($"{what} is not stored in the model; a dense head's weight and bias must be initializers");
    }

    private void SetHead(float[] weight, int outputs, float[]? bias)
    {
        _headWeight = weight;
        _headOutput = outputs;
        _headBias = bias;
    }

    private static float[] Transpose(float[] values, int rows, int columns)
    {
        var result = new float[values.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                result[(c * rows) + r] = values[(r * columns) + c];
            }
        }

        return result;
    }

    // ---- the end of the chain --------------------------------------------------------------------------------------

    private void CheckOutput(Dim[] dims)
    {
        var parts = dims.SelectMany(d => d.Parts).ToList();
        bool features = parts.Contains(AxisLabel.Feature) || (parts.Contains(AxisLabel.Direction) && parts.Contains(AxisLabel.Hidden));
        foreach (var axis in new[] { AxisLabel.X0, AxisLabel.X1 })
        {
            if (!parts.Contains(axis) && SizeOf(axis) != 1)
            {
                throw new ImportException($"the graph output '{_outputName}' holds {Describe(dims)}: the input's {(axis == _time ? "time" : "batch")} axis is gone");
            }
        }

        if (!features)
        {
            throw new ImportException($"the graph output '{_outputName}' holds {Describe(dims)}: each step's outputs are not on one axis");
        }
    }

    private List<ImportedTensor> Tensors(ImportedSpec spec)
    {
        // ONNX orders the gate blocks LSTM i, o, f, c and GRU z, r, h; PyTorch LSTM i, f, g, o and GRU r, z, n.
        int[] order = spec.Cell switch { "lstm" => [0, 2, 3, 1], "gru" => [1, 0, 2], _ => [0] };
        int gates = order.Length, hidden = spec.Hidden, block = gates * hidden;
        var tensors = new List<ImportedTensor>();
        for (int k = 0; k < _layers.Count; k++)
        {
            var layer = _layers[k];
            for (int d = 0; d < _directions; d++)
            {
                string suffix = $"_l{k}" + (d == 1 ? "_reverse" : string.Empty);
                tensors.Add(new ImportedTensor("weight_ih" + suffix, [block, layer.Input], Permute(layer.W.AsSpan(d * block * layer.Input, block * layer.Input), order, hidden * layer.Input)));
                tensors.Add(new ImportedTensor("weight_hh" + suffix, [block, hidden], Permute(layer.R.AsSpan(d * block * hidden, block * hidden), order, hidden * hidden)));
                if (spec.Bias)
                {
                    // A layer without B in a model whose other layers have one: ONNX's default B is zero.
                    var b = layer.B ?? new float[_directions * 2 * block];
                    tensors.Add(new ImportedTensor("bias_ih" + suffix, [block], Permute(b.AsSpan(d * 2 * block, block), order, hidden)));
                    tensors.Add(new ImportedTensor("bias_hh" + suffix, [block], Permute(b.AsSpan((d * 2 * block) + block, block), order, hidden)));
                }
            }
        }

        if (_headWeight is not null)
        {
            int features = _directions * hidden;
            tensors.Add(new ImportedTensor("head.weight", [_headOutput, features], _headWeight));
            tensors.Add(new ImportedTensor("head.bias", [_headOutput], _headBias ?? new float[_headOutput]));
        }

        return tensors;
    }

    // Gate blocks (each `size` floats) rearranged: block i of the result is block order[i] of the source.
    private static float[] Permute(ReadOnlySpan<float> source, int[] order, int size)
    {
        var result = new float[source.Length];
        for (int i = 0; i < order.Length; i++)
        {
            source.Slice(order[i] * size, size).CopyTo(result.AsSpan(i * size));
        }

        return result;
    }

    // ---- attributes and constants ----------------------------------------------------------------------------------

    private static AttributeProto? Attribute(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);

    private static long? Int(NodeProto node, string name) => Attribute(node, name) is { } a ? a.I : null;

    private static float? Float(NodeProto node, string name) => Attribute(node, name) is { } a ? a.F : null;

    private static string? String(NodeProto node, string name) => Attribute(node, name) is { } a ? a.S.ToStringUtf8() : null;

    private static long[]? Ints(NodeProto node, string name) => Attribute(node, name) is { } a ? a.Ints.ToArray() : null;

    private long[]? ConstantInts(NodeProto node, int index, string role)
    {
        if (OnnxGraph.Input(node, index) is not string value)
        {
            return null;
        }

        var tensor = _graph.Constant(value)
            ?? throw new ImportException($"{_graph.Name(node)}: its {role} (input '{value}') is computed at run time; the importer needs them constant");
        return OnnxGraph.Ints(tensor, $"the {role} of {_graph.Name(node)}");
    }

    private int Axis(NodeProto node, long axis, int rank) =>
        axis >= -rank && axis < rank ? (int)(axis < 0 ? axis + rank : axis) : throw new ImportException($"{_graph.Name(node)}: axis {axis} is outside its {rank} dimensions");

    private string Describe(Dim dim) => string.Join(" and ", dim.Parts.Select(p => p switch
    {
        AxisLabel.X0 or AxisLabel.X1 => _time is null ? $"input axis {(p == AxisLabel.X0 ? 0 : 1)}" : p == _time ? "time" : "batch",
        AxisLabel.Direction => "directions",
        AxisLabel.Hidden => "hidden units",
        AxisLabel.Feature => "features",
        _ => "1",
    }));

    private string Describe(Dim[] dims) => "[" + string.Join(", ", dims.Select(Describe)) + "]";
}
