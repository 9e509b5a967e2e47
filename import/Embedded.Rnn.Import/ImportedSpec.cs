using System.Globalization;
using System.Text;

namespace Embedded.Rnn.Import;

/// <summary>
/// The Embedded.Rnn spec (<c>*.rnn.json</c>) an imported model needs: the one place that writes an importer's spec,
/// whatever the source (PyTorch safetensors, ONNX, Keras).
/// </summary>
/// <param name="Cell">"rnn", "lstm" or "gru".</param>
/// <param name="Input">Input features per step.</param>
/// <param name="Hidden">Hidden units per layer and direction.</param>
/// <param name="Layers">Stacked layers.</param>
/// <param name="Bidirectional">Whether each layer also runs backwards in time.</param>
/// <param name="Bias">Whether the recurrent layers have biases.</param>
/// <param name="Activation">An rnn cell's nonlinearity ("tanh", "relu", "leaky_relu"); null for lstm and gru (and leaves it out).</param>
/// <param name="HeadOutput">The dense head's outputs, or null without a head.</param>
/// <param name="HeadActivation">The head's activation ("none", "sigmoid", "tanh", "softmax"); null means "none".</param>
/// <param name="Reset">A GRU's reset convention when not PyTorch's ("before"); null writes nothing (the generator's default, "after").</param>
/// <param name="Precision">How the weights are stored ("bf16", "int8") when not float32; null writes nothing (the default, "f32").</param>
public sealed record ImportedSpec(string Cell, int Input, int Hidden, int Layers, bool Bidirectional, bool Bias,
    string? Activation = null, int? HeadOutput = null, string? HeadActivation = null, string? Reset = null, string? Precision = null)
{
    /// <summary>Directions: 2 when bidirectional.</summary>
    public int Directions => Bidirectional ? 2 : 1;

    /// <summary>Outputs per step: the head's, or the last layer's hidden state (both directions).</summary>
    public int Output => HeadOutput ?? Directions * Hidden;

    /// <summary>One line: "lstm (input 6, hidden 32, 2 layers, unidirectional, with bias), head 4 outputs".</summary>
    public string Summary => Describe(Reset is null ? Cell : $"{Cell} (reset {Reset})", Input, Hidden, Layers, Bidirectional, Bias) + (HeadOutput is int o ? $", head {o} outputs" : ", no head");

    /// <summary>The recurrent part in words: "lstm (input 6, hidden 32, 2 layers, unidirectional, with bias)".</summary>
    public static string Describe(string cell, int input, int hidden, int layers, bool bidirectional, bool bias) =>
        $"{cell} (input {input}, hidden {hidden}, {layers} layer{(layers == 1 ? string.Empty : "s")}, {(bidirectional ? "bidirectional" : "unidirectional")}, {(bias ? "with" : "without")} bias)";

    /// <summary>The spec as the tool writes it: defaults left out, the head on a second line, a final newline.</summary>
    public string ToJson()
    {
        var json = new StringBuilder();
        json.Append(CultureInfo.InvariantCulture, $"{{ \"cell\": \"{Cell}\"");
        if (Cell == "rnn" && Activation is not null)
        {
            json.Append(CultureInfo.InvariantCulture, $", \"activation\": \"{Activation}\"");
        }

        if (Reset is not null)
        {
            json.Append(CultureInfo.InvariantCulture, $", \"reset\": \"{Reset}\"");
        }

        json.Append(CultureInfo.InvariantCulture, $", \"input\": {Input}, \"hidden\": {Hidden}");
        if (Layers != 1)
        {
            json.Append(CultureInfo.InvariantCulture, $", \"layers\": {Layers}");
        }

        if (Bidirectional)
        {
            json.Append(", \"bidirectional\": true");
        }

        if (!Bias)
        {
            json.Append(", \"bias\": false");
        }

        if (Precision is not null)
        {
            json.Append(CultureInfo.InvariantCulture, $", \"precision\": \"{Precision}\"");
        }

        if (HeadOutput is int output)
        {
            json.Append(CultureInfo.InvariantCulture, $",{Environment.NewLine}  \"head\": {{ \"output\": {output}, \"activation\": \"{HeadActivation ?? "none"}\" }}");
        }

        return json.Append(" }").Append(Environment.NewLine).ToString();
    }
}
