using System.Collections.Generic;
using Embedded.Rnn.Generator.Emit;

namespace Embedded.Rnn.Generator.Cells;

/// <summary>
/// Long short-term memory, PyTorch's nn.LSTM: gate rows i, f, g, o; c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'). One
/// accumulator per gate, each reading its row block of both weight matrices. Pointwise maths: <c>LstmPointwise</c>.
/// </summary>
internal sealed record LstmCell : CellDefinition
{
    private static readonly Slot[] s_slots = { new("i", 0, 0), new("f", 1, 1), new("g", 2, 2), new("o", 3, 3) };

    public static readonly CellReader Reader = new("lstm", new CellField[0], _ => new LstmCell());

    public override string Kind => "lstm";

    public override string Title => "LSTM";

    public override string Article => "an";

    public override int Gates => 4;

    public override string GateOrder => "i, f, g, o";

    public override bool HasCellState => true;

    public override IReadOnlyList<Slot> Slots => s_slots;

    public override string Operator => "LstmPointwise";

    public override string Activate(VectorWidth width, int units) =>
        $"LstmPointwise.Activate<{width.PointwiseArguments}>(ref pre, ref c, ref h, units: {Literals.Int(units)}, PaddedHidden);";

    public override string Step(VectorWidth width, IReadOnlyList<string> a, string unit) =>
        $"LstmPointwise.Step<{width.PointwiseArguments}>({a[0]}, {a[1]}, {a[2]}, {a[3]}, ref c, ref h, {unit});";

    public override string Record(VectorWidth width, IReadOnlyList<string> a, string unit) =>
        $"LstmPointwise.Record<{width.PointwiseArguments}>({a[0]}, {a[1]}, {a[2]}, {a[3]}, ref c, ref tape, ref hNew, ref cNew, {unit}, PaddedHidden);";

    public override string Backward(VectorWidth width, IReadOnlyList<string> d, string unit) =>
        $"LstmPointwise.Backward<{width.PointwiseArguments}>(ref tape, ref c, ref dh, ref dc, {unit}, PaddedHidden, out var {d[0]}, out var {d[1]}, out var {d[2]}, out var {d[3]});";

    public override void EmitNanoUnit(SourceWriter w, NanoDots dots)
    {
        w.Line($"float ai = {dots.Sum(0)};");
        w.Line($"float af = {dots.Sum(1)};");
        w.Line($"float ag = {dots.Sum(2)};");
        w.Line($"float ao = {dots.Sum(3)};");
        w.Lines("""
            float i = Sigmoid(ai);
            float f = Sigmoid(af);
            float g = Tanh(ag);
            float o = Sigmoid(ao);
            float cNew = f * c[offset + j] + i * g;
            c[offset + j] = cNew;
            scratch[j] = o * Tanh(cNew);
            """);
    }
}
