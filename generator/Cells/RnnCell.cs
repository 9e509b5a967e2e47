using System.Collections.Generic;
using Embedded.Rnn.Generator.Emit;

namespace Embedded.Rnn.Generator.Cells;

/// <summary>The vanilla RNN's activation (PyTorch's nonlinearity, plus leaky ReLU).</summary>
internal enum RecurrentActivation
{
    Tanh,
    Relu,
    LeakyRelu,
}

/// <summary>
/// The vanilla RNN, PyTorch's nn.RNN: h' = activation(W_ih x + b_ih + W_hh h + b_hh), one gate row block, one
/// accumulator. The spec's "activation" ("tanh", "relu", "leaky_relu") and "negative_slope" (leaky ReLU only, default
/// 0.01 as PyTorch's) are this cell's. Pointwise maths: <c>RnnPointwise</c>, specialised by an activation type.
/// </summary>
internal sealed record RnnCell(RecurrentActivation Activation, float NegativeSlope) : CellDefinition
{
    private const string ActivationField = "activation";
    private const string SlopeField = "negative_slope";
    private const string LeakyReluOnly = "\"rnn\" cells with \"leaky_relu\"";
    private static readonly Slot[] s_slots = { new("a", 0, 0) };

    public static readonly CellReader Reader = new(
        "rnn",
        new[] { new CellField(ActivationField, "\"rnn\" cells (lstm and gru use sigmoid and tanh gates)"), new CellField(SlopeField, LeakyReluOnly) },
        Read);

    public override string Kind => "rnn (" + ActivationName + ")";

    public override string Identity => Activation == RecurrentActivation.LeakyRelu ? Kind + " slope " + Slope : Kind;

    public override string Title => Activation switch
    {
        RecurrentActivation.Tanh => "tanh RNN",
        RecurrentActivation.Relu => "ReLU RNN",
        RecurrentActivation.LeakyRelu => "leaky ReLU RNN",
        _ => throw Unknown(),
    };

    public override string Article => "a";

    public override int Gates => 1;

    public override string GateOrder => "one block";

    public override bool HasCellState => false;

    public override IReadOnlyList<Slot> Slots => s_slots;

    public override string Operator => "RnnPointwise";

    // The spec's name of the activation.
    private string ActivationName => Activation switch
    {
        RecurrentActivation.Tanh => "tanh",
        RecurrentActivation.Relu => "relu",
        RecurrentActivation.LeakyRelu => "leaky_relu",
        _ => throw Unknown(),
    };

    // The runtime's activation type, and the slope argument it takes (0 when it has none).
    private string TypeArguments(VectorWidth width) => width.PointwiseArguments + ", " + Activation switch
    {
        RecurrentActivation.Tanh => "TanhActivation",
        RecurrentActivation.Relu => "ReluActivation",
        RecurrentActivation.LeakyRelu => "LeakyReluActivation",
        _ => throw Unknown(),
    };

    private string Slope => Activation == RecurrentActivation.LeakyRelu ? Literals.Float(NegativeSlope) : "0f";

    public override string Activate(VectorWidth width, int units) =>
        $"RnnPointwise.Activate<{TypeArguments(width)}>(ref pre, ref h, units: {Literals.Int(units)}, {Slope});";

    public override string Step(VectorWidth width, IReadOnlyList<string> a, string unit) =>
        $"RnnPointwise.Step<{TypeArguments(width)}>({a[0]}, ref h, {unit}, {Slope});";

    public override string Record(VectorWidth width, IReadOnlyList<string> a, string unit) =>
        $"RnnPointwise.Record<{TypeArguments(width)}>({a[0]}, ref tape, ref hNew, {unit}, {Slope});";

    public override string Backward(VectorWidth width, IReadOnlyList<string> d, string unit) =>
        $"var {d[0]} = RnnPointwise.Backward<{TypeArguments(width)}>(ref tape, ref dh, {unit}, {Slope});";

    public override void EmitNanoUnit(SourceWriter w, NanoDots dots)
    {
        w.Line($"float a = {dots.Sum(0)};");
        w.Line(Activation switch
        {
            RecurrentActivation.Tanh => "scratch[j] = Tanh(a);",
            RecurrentActivation.Relu => "scratch[j] = a < 0f ? 0f : a;",
            RecurrentActivation.LeakyRelu => $"scratch[j] = a > 0f ? a : a * {Literals.Float(NegativeSlope)};",
            _ => throw Unknown(),
        });
    }

    private static CellDefinition? Read(ISpecFields spec)
    {
        var activation = RecurrentActivation.Tanh;
        var activationValue = spec.Field(ActivationField);
        if (activationValue is not null)
        {
            switch (spec.Activation(activationValue, "rnn activation", "tanh", "relu", "leaky_relu"))
            {
                case "tanh": activation = RecurrentActivation.Tanh; break;
                case "relu": activation = RecurrentActivation.Relu; break;
                case "leaky_relu": activation = RecurrentActivation.LeakyRelu; break;
                default: return null;
            }
        }

        float slope = 0.01f; // PyTorch's default negative_slope
        var slopeValue = spec.Field(SlopeField);
        if (slopeValue is not null)
        {
            if (activation != RecurrentActivation.LeakyRelu)
            {
                spec.NotApplicable(slopeValue, SlopeField, LeakyReluOnly);
                return null;
            }

            if (spec.NonNegativeNumber(slopeValue, SlopeField) is not float value)
            {
                return null;
            }

            slope = value;
        }

        return new RnnCell(activation, slope);
    }

    // Every switch names every activation: a new one that is not handled everywhere fails loudly, never as tanh.
    private System.ArgumentOutOfRangeException Unknown() => new(nameof(Activation), Activation, "an activation this cell does not handle");
}
