using System.Collections.Generic;
using Embedded.Rnn.Generator.Emit;

namespace Embedded.Rnn.Generator.Cells;

/// <summary>
/// Gated recurrent unit, PyTorch's nn.GRU: gate rows r, z, n with the reset applied after the recurrent product,
/// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h. r and z each take one accumulator over both
/// matrices; n takes two, W_in x + b_in ("nx") and W_hn h + b_hn ("nh"), because r multiplies only the second.
/// Pointwise maths: <c>GruPointwise</c>.
/// </summary>
internal sealed record GruCell : CellDefinition
{
    private static readonly Slot[] s_slots = { new("r", 0, 0), new("z", 1, 1), new("nx", 2, -1), new("nh", -1, 2) };

    private const string ResetField = "reset";

    public static readonly CellReader Reader = new("gru", new[] { new CellField(ResetField, "\"gru\" cells") }, Read);

    public override string Kind => "gru";

    public override string Title => "GRU";

    public override string Article => "a";

    public override int Gates => 3;

    public override string GateOrder => "r, z, n";

    public override bool HasCellState => false;

    public override IReadOnlyList<Slot> Slots => s_slots;

    public override string Operator => "GruPointwise";

    public override string Activate(VectorWidth width, int units) =>
        $"GruPointwise.Activate<{width.PointwiseArguments}>(ref pre, ref h, units: {Literals.Int(units)}, PaddedHidden);";

    public override string Step(VectorWidth width, IReadOnlyList<string> a, string unit) =>
        $"GruPointwise.Step<{width.PointwiseArguments}>({a[0]}, {a[1]}, {a[2]}, {a[3]}, ref h, {unit});";

    public override string Record(VectorWidth width, IReadOnlyList<string> a, string unit) =>
        $"GruPointwise.Record<{width.PointwiseArguments}>({a[0]}, {a[1]}, {a[2]}, {a[3]}, ref h, ref tape, ref hNew, {unit}, PaddedHidden);";

    public override string Backward(VectorWidth width, IReadOnlyList<string> d, string unit) =>
        $"GruPointwise.Backward<{width.PointwiseArguments}>(ref tape, ref h, ref dh, ref dhPrev, {unit}, PaddedHidden, out var {d[0]}, out var {d[1]}, out var {d[2]}, out var {d[3]});";

    // "reset": "after" (PyTorch's, the default) or "before" (ONNX linear_before_reset=0, Keras reset_after=False).
    private static CellDefinition? Read(ISpecFields spec)
    {
        var value = spec.Field(ResetField);
        return value is null ? new GruCell() : spec.OneOf(value, ResetField, "after", "before") switch
        {
            "after" => new GruCell(),
            "before" => new GruResetBeforeCell(),
            _ => null,
        };
    }

    public override void EmitNanoUnit(SourceWriter w, NanoDots dots)
    {
        w.Line($"float ar = {dots.Sum(0)};");
        w.Line($"float az = {dots.Sum(1)};");
        w.Line("// n = tanh(W_in x + b_in + r * (W_hn h + b_hn)): the two halves stay apart.");
        w.Line($"float an = {dots.Input(2)};");
        w.Line($"float hn = {dots.Recurrent(2)};");
        w.Lines("""
            float r = Sigmoid(ar);
            float z = Sigmoid(az);
            float n = Tanh(an + r * hn);
            scratch[j] = (1f - z) * n + z * h[offset + j];
            """);
    }
}
