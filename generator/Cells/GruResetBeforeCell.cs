using System.Collections.Generic;
using Embedded.Rnn.Generator.Emit;

namespace Embedded.Rnn.Generator.Cells;

/// <summary>
/// The reset-before GRU (spec <c>"cell": "gru", "reset": "before"</c>; ONNX <c>linear_before_reset=0</c>, Keras
/// <c>reset_after=False</c>): PyTorch's gate rows r, z, n and weights, but the reset gate scales h before the candidate's
/// recurrent product, n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn), h' = (1 − z) ⊙ n + z ⊙ h. That product needs r of every
/// unit, so a step takes two passes over the weights: r, z and W_in x + b_in ("nx"), then W_hn (r ⊙ h) + b_hn ("nh") over
/// r ⊙ h. Pointwise maths: <c>GruResetBeforePointwise</c>.
/// </summary>
internal sealed record GruResetBeforeCell : CellDefinition
{
    private const string Operation = "GruResetBeforePointwise";

    private static readonly Slot[] s_slots = { new("r", 0, 0), new("z", 1, 1), new("nx", 2, -1), new("nh", -1, 2, pass: 1) };

    // Static: a record's instance fields are its value, and the pass is behaviour, not data.
    private static readonly SecondPass s_candidatePass = new CandidatePass();

    public override string Kind => "gru (reset before)";

    public override string Title => "reset-before GRU";

    public override string Article => "a";

    public override int Gates => 3;

    public override string GateOrder => "r, z, n";

    public override bool HasCellState => false;

    public override IReadOnlyList<Slot> Slots => s_slots;

    public override string Operator => Operation;

    public override SecondPass SecondPass => s_candidatePass;

    public override string Activate(VectorWidth width, int units) =>
        $"{Operation}.Activate<{width.PointwiseArguments}>(ref pre, ref h, units: {Literals.Int(units)}, PaddedHidden);";

    // Never called: the candidate's pass needs r of every unit first, so the layer always stores pre (CellDefinition.Step).
    public override string Step(VectorWidth width, IReadOnlyList<string> a, string unit) => string.Empty;

    public override string Record(VectorWidth width, IReadOnlyList<string> a, string unit) =>
        $"{Operation}.RecordGates<{width.PointwiseArguments}>({a[0]}, {a[1]}, {a[2]}, ref h, ref tape, {unit}, PaddedHidden);";

    public override string Backward(VectorWidth width, IReadOnlyList<string> d, string unit) =>
        $"{Operation}.BackwardGates<{width.PointwiseArguments}>(ref tape, ref h, ref dh, ref dhPrev, {unit}, PaddedHidden, out var {d[0]}, out var {d[1]}, out var {d[2]});";

    public override void EmitNanoPrelude(SourceWriter w, NanoDots dots)
    {
        w.Line("// r ⊙ h of every unit first: each unit's candidate reads all of it.");
        using (w.Open("for (int j = 0; j < HiddenSize; j++)"))
        {
            w.Line($"scratch[HiddenSize + j] = Sigmoid({dots.Sum(0)}) * h[offset + j];");
        }

        w.Line();
    }

    public override void EmitNanoUnit(SourceWriter w, NanoDots dots)
    {
        w.Line($"float az = {dots.Sum(1)};");
        w.Line($"float an = {dots.Input(2)} + {dots.RecurrentOnPrelude(2)};");
        w.Lines("""
            float z = Sigmoid(az);
            float n = Tanh(an);
            scratch[j] = (1f - z) * n + z * h[offset + j];
            """);
    }

    // Inference keeps r ⊙ h in pre's r block (r is not needed again); training keeps it on the tape for backward.
    private sealed class CandidatePass : SecondPass
    {
        public override string Name => "Candidate";

        public override string Vector => "rh";

        public override string Title => "r ⊙ h";

        public override string Prepare(VectorWidth width, int units) =>
            $"{Operation}.ResetHidden<{width.PointwiseArguments}>(ref pre, ref h, units: {Literals.Int(units)});";

        public override string InferenceVector => "ref pre";

        public override string TapeVector => $"ref Unsafe.Add(ref tape, {Operation}.ResetHiddenBlock * PaddedHidden)";

        public override string TapeGradient => $"ref Unsafe.Add(ref tape, {Operation}.ResetHiddenGradientBlock * PaddedHidden)";

        public override string Record(VectorWidth width, IReadOnlyList<string> a, string unit) =>
            $"{Operation}.RecordCandidate<{width.PointwiseArguments}>({a[0]}, ref h, ref tape, ref hNew, {unit}, PaddedHidden);";

        public override string BeginBackward => $"{Operation}.ClearResetGradient(ref tape, PaddedHidden);";

        public override string Backward(VectorWidth width, IReadOnlyList<string> d, string unit) =>
            $"var {d[0]} = {Operation}.BackwardCandidate<{width.PointwiseArguments}>(ref tape, ref dh, {unit}, PaddedHidden);";
    }
}
