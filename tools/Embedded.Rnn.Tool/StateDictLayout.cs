using System.Globalization;
using System.Text.RegularExpressions;
using Embedded.Rnn.Import;
using Embedded.Rnn.Safetensors;

namespace Embedded.Rnn.Tool;

/// <summary>
/// What a PyTorch state_dict in a safetensors file describes, inferred from tensor names and shapes as
/// nn.RNN/LSTM/GRU name them: weight_hh_l0 is [G·H, H] with G = 1 (rnn), 3 (gru) or 4 (lstm); weight_ih_l0 is
/// [G·H, I]; layers are counted by weight_ih_l{k}; "_reverse" means bidirectional; bias_ih_l0 or bias_hh_l0 means bias
/// (then every layer needs both). An optional dense head is {headPrefix}weight [O, D·H] and {headPrefix}bias [O].
/// Tensors may sit under a module prefix (e.g. "lstm." in a module's state_dict); other tensors are listed as ignored,
/// except those named as recurrent parameters (a layer after a gap, a reverse direction without layer 0's), which are
/// refused rather than quietly left out of the model.
/// </summary>
/// <param name="Cell">"rnn", "lstm" or "gru".</param>
/// <param name="Prefix">Prefix of the recurrent tensors ("" when at top level).</param>
/// <param name="HeadPrefix">Prefix of the head's weight and bias.</param>
/// <param name="HeadOutput">The head's output size, or null without a head.</param>
/// <param name="Tensors">Each model tensor: its name in the file, its name in Embedded.Rnn (PyTorch's, head as head.*), its shape.</param>
/// <param name="Ignored">Tensors of the file that are not part of the model.</param>
public sealed partial record StateDictLayout(string Cell, int Input, int Hidden, int Layers, bool Bidirectional, bool Bias, int? HeadOutput,
    string Prefix, string HeadPrefix, IReadOnlyList<(string Source, string Target, int[] Shape)> Tensors, IReadOnlyList<string> Ignored)
{
    /// <summary>Directions: 2 when bidirectional.</summary>
    public int Directions => Bidirectional ? 2 : 1;

    /// <summary>Infers the layout; <paramref name="prefix"/> null finds it from the name ending in weight_ih_l0.</summary>
    /// <exception cref="ToolException">
    /// No recurrent layer, an ambiguous prefix, a tensor of the wrong shape (named), a tensor named as a recurrent
    /// parameter that the model does not use (named), or only one of a layer's two biases.
    /// </exception>
    public static StateDictLayout Infer(SafetensorsFile file, string? prefix, string headPrefix)
    {
        prefix ??= FindPrefix(file);
        var fileShapes = file.Tensors.ToDictionary(t => t.Name, t => t.Shape, StringComparer.Ordinal);

        // Only the tensors the layout reads are converted to int sizes: another tensor may be of any size.
        bool TryShape(string name, out int[] shape)
        {
            if (!fileShapes.TryGetValue(name, out var dims))
            {
                shape = [];
                return false;
            }

            shape = dims.Select(d => d <= int.MaxValue ? (int)d
                : throw new ToolException($"tensor '{name}' has shape [{string.Join(", ", dims)}]: a size above {int.MaxValue} cannot be a model's.")).ToArray();
            return true;
        }

        int[] Shape(string name) => TryShape(prefix + name, out var s)
            ? s
            : throw new ToolException($"no tensor '{prefix}{name}' (the file has: {Names(file)})");

        if (fileShapes.ContainsKey(prefix + "weight_hr_l0"))
        {
            throw new ToolException($"'{prefix}weight_hr_l0': LSTMs with proj_size are not supported (Embedded.Rnn's LSTM has no projection).");
        }

        var hh = Shape("weight_hh_l0");
        var ih = Shape("weight_ih_l0");
        if (hh.Length != 2 || ih.Length != 2 || hh[1] <= 0)
        {
            throw new ToolException($"'{prefix}weight_hh_l0' {Text(hh)} and '{prefix}weight_ih_l0' {Text(ih)} must both be matrices.");
        }

        int hidden = hh[1];
        string cell = (hh[0] % hidden == 0 ? hh[0] / hidden : 0) switch
        {
            1 => "rnn",
            3 => "gru",
            4 => "lstm",
            _ => throw new ToolException($"'{prefix}weight_hh_l0' has shape {Text(hh)}: its rows must be 1, 3 or 4 times the hidden size {hidden} (rnn, gru, lstm)."),
        };
        int gates = hh[0] / hidden;
        int layers = 0;
        while (fileShapes.ContainsKey($"{prefix}weight_ih_l{layers}"))
        {
            layers++;
        }

        bool bidirectional = fileShapes.ContainsKey(prefix + "weight_ih_l0_reverse");
        bool bias = fileShapes.ContainsKey(prefix + "bias_ih_l0") || fileShapes.ContainsKey(prefix + "bias_hh_l0");
        int directions = bidirectional ? 2 : 1;
        var tensors = new List<(string, string, int[])>();
        void Expect(string source, string target, params int[] expected)
        {
            if (!TryShape(source, out var actual))
            {
                throw new ToolException($"no tensor '{source}' of shape {Text(expected)}, which a {Describe(cell, ih[1], hidden, layers, bidirectional, bias)} needs.");
            }

            if (!actual.SequenceEqual(expected))
            {
                throw new ToolException($"tensor '{source}' has shape {Text(actual)}; a {Describe(cell, ih[1], hidden, layers, bidirectional, bias)} needs {Text(expected)}.");
            }

            tensors.Add((source, target, expected));
        }

        for (int layer = 0; layer < layers; layer++)
        {
            for (int direction = 0; direction < directions; direction++)
            {
                string suffix = $"_l{layer}" + (direction == 1 ? "_reverse" : string.Empty);
                int inputs = layer == 0 ? ih[1] : directions * hidden;
                Expect($"{prefix}weight_ih{suffix}", $"weight_ih{suffix}", gates * hidden, inputs);
                Expect($"{prefix}weight_hh{suffix}", $"weight_hh{suffix}", gates * hidden, hidden);
                if (bias)
                {
                    Expect($"{prefix}bias_ih{suffix}", $"bias_ih{suffix}", gates * hidden);
                    Expect($"{prefix}bias_hh{suffix}", $"bias_hh{suffix}", gates * hidden);
                }
            }
        }

        int? headOutput = null;
        if (TryShape(headPrefix + "weight", out var head))
        {
            if (head.Length != 2)
            {
                throw new ToolException($"head tensor '{headPrefix}weight' has shape {Text(head)}; expected [output, {directions * hidden}].");
            }

            headOutput = head[0];
            Expect(headPrefix + "weight", "head.weight", head[0], directions * hidden);
            Expect(headPrefix + "bias", "head.bias", head[0]);
        }

        var used = tensors.Select(t => t.Item1).ToHashSet(StringComparer.Ordinal);
        var ignored = file.Tensors.Select(t => t.Name).Where(n => !used.Contains(n)).ToList();
        var underPrefix = ignored.Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        foreach (string name in underPrefix)
        {
            // A top-level state_dict has no prefix to tell its strays by: a name PyTorch gives a recurrent parameter
            // that the layout did not take is a layer after a gap or a direction the file does not have, never extra.
            if (RecurrentParameterName().Match(name, prefix.Length) is { Success: true } match && match.Index == prefix.Length)
            {
                string layer = match.Groups["layer"].Value;
                throw new ToolException(int.TryParse(layer, NumberStyles.None, CultureInfo.InvariantCulture, out int k) && k < layers
                    ? $"tensor '{name}' is named as a recurrent parameter but is not one of a {Describe(cell, ih[1], hidden, layers, bidirectional, bias)}."
                    : $"tensor '{name}' is for layer {layer}, but the file has no '{prefix}weight_ih_l{layers}': layers must be numbered 0, 1, … without gaps.");
            }
        }

        if (prefix.Length > 0 && underPrefix.Count > 0)
        {
            throw new ToolException($"tensor '{underPrefix[0]}' is under the recurrent prefix '{prefix}' but is not a parameter of a {Describe(cell, ih[1], hidden, layers, bidirectional, bias)}.");
        }

        return new StateDictLayout(cell, ih[1], hidden, layers, bidirectional, bias, headOutput, prefix, headPrefix, tensors, ignored);
    }

    /// <summary>Prefixes of ignored weight/bias pairs that fit a head ([O, D·H] and [O]): a head named other than HeadPrefix.</summary>
    public IReadOnlyList<string> HeadCandidates(SafetensorsFile file)
    {
        if (HeadOutput is not null)
        {
            return [];
        }

        var shapes = file.Tensors.ToDictionary(t => t.Name, t => t.Shape, StringComparer.Ordinal);
        return Ignored.Where(n => n.EndsWith("weight", StringComparison.Ordinal))
            .Select(n => n[..^"weight".Length])
            .Where(p => shapes[p + "weight"] is { Count: 2 } w && w[1] == Directions * Hidden
                && shapes.TryGetValue(p + "bias", out var b) && b.Count == 1 && b[0] == w[0])
            .ToList();
    }

    /// <summary>The spec these weights need (an rnn cell's activation and the head's cannot be read from weights: given).</summary>
    public ImportedSpec Spec(string? activation, string? headActivation) =>
        new(Cell, Input, Hidden, Layers, Bidirectional, Bias, Cell == "rnn" ? activation : null, HeadOutput, HeadOutput is null ? null : headActivation);

    /// <summary>The spec's JSON, as import writes it and inspect prints it.</summary>
    public string SpecJson(string? activation, string? headActivation) => Spec(activation, headActivation).ToJson();

    /// <summary>One line: "lstm (input 6, hidden 32, 2 layers, unidirectional, with bias), head 4 outputs".</summary>
    public string Summary => Spec(null, null).Summary;

    private static string Describe(string cell, int input, int hidden, int layers, bool bidirectional, bool bias) =>
        ImportedSpec.Describe(cell, input, hidden, layers, bidirectional, bias);

    private static string FindPrefix(SafetensorsFile file)
    {
        var candidates = file.Tensors.Select(t => t.Name).Where(n => n.EndsWith("weight_ih_l0", StringComparison.Ordinal))
            .Select(n => n[..^"weight_ih_l0".Length]).ToList();
        if (candidates.Contains(string.Empty))
        {
            return string.Empty; // top-level names win (reference files also hold e.g. grad.weight_ih_l0)
        }

        return candidates.Count switch
        {
            1 => candidates[0],
            0 => throw new ToolException($"no recurrent layer: no tensor is named weight_ih_l0 or <prefix>weight_ih_l0 (the file has: {Names(file)})"),
            _ => throw new ToolException($"several recurrent layers ({string.Join(", ", candidates.Select(c => c + "weight_ih_l0"))}): pass --prefix to choose one"),
        };
    }

    private static string Names(SafetensorsFile file)
    {
        var names = file.Tensors.Select(t => t.Name).ToList();
        return names.Count == 0 ? "no tensors" : string.Join(", ", names.Take(12)) + (names.Count > 12 ? $", … ({names.Count} in all)" : string.Empty);
    }

    private static string Text(int[] shape) => "[" + string.Join(", ", shape) + "]";

    // PyTorch's names of nn.RNN/LSTM/GRU parameters (weight_hr_l{k}, the LSTM projection, is refused on its own).
    [GeneratedRegex(@"\G(weight|bias)_(ih|hh)_l(?<layer>[0-9]+)(_reverse)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex RecurrentParameterName();
}
