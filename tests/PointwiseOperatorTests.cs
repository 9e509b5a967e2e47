using System.Runtime.Intrinsics;
using Embedded.Rnn.Kernels;
using Xunit;

namespace Embedded.Rnn.Tests;

/// <summary>
/// The cells' pointwise operators (runtime/Kernels) on every width, against the equations in float64: inference's
/// Activate and training's Record give the same state (bit for bit on one width) and match PyTorch's equations within the
/// activations' bounds; Backward matches central finite differences of the float64 equations; and every vector width
/// agrees with the scalar twin on the same inputs.
/// </summary>
public sealed class PointwiseOperatorTests
{
    private const int Units = 32; // a multiple of every width's lanes
    private const int Stride = 48; // blocks further apart than the units, as PaddedHidden may be
    private const double ForwardBound = 1e-6; // the activations' error (sigmoid 2e-7, tanh 4e-7) through a few products
    private const double GradientBound = 1e-5;

    public static TheoryData<string> Widths() => new() { "Vector512", "Vector256", "Vector128", "Scalar" };

    [Theory]
    [MemberData(nameof(Widths))]
    public void Lstm_matches_its_equations_and_derivatives(string width) => OnWidth(width, new LstmCheck());

    [Theory]
    [MemberData(nameof(Widths))]
    public void Gru_matches_its_equations_and_derivatives(string width) => OnWidth(width, new GruCheck());

    [Theory]
    [MemberData(nameof(Widths))]
    public void Reset_before_gru_matches_its_equations_and_derivatives(string width) => OnWidth(width, new GruResetBeforeCheck());

    [Theory]
    [MemberData(nameof(Widths))]
    public void Rnn_matches_its_equations_and_derivatives_for_each_activation(string width) => OnWidth(width, new RnnCheck());

    public static TheoryData<string, string> VectorWidthsAndCells()
    {
        var data = new TheoryData<string, string>();
        foreach (string width in new[] { "Vector512", "Vector256", "Vector128" })
        {
            foreach (string cell in new[] { "lstm", "gru", "gru_reset_before", "rnn" })
            {
                data.Add(width, cell);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(VectorWidthsAndCells))]
    public void Vector_widths_agree_with_the_scalar_twin(string width, string cell)
    {
        IWidthCheck Check() => cell switch { "lstm" => new LstmCheck(), "gru" => new GruCheck(), "gru_reset_before" => new GruResetBeforeCheck(), _ => new RnnCheck() };
        var scalar = Check();
        OnWidth("Scalar", scalar);
        var vector = Check();
        OnWidth(width, vector);
        float[] expected = ((IOutputs)scalar).Outputs, actual = ((IOutputs)vector).Outputs;
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= ForwardBound * Math.Max(1, Math.Abs(expected[i])),
                $"{width} {cell} output {i}: {actual[i]} vs scalar {expected[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Lstm_inference_gives_trainings_state_bit_for_bit_where_the_new_cell_state_is_subnormal(string width) =>
        OnWidth(width, new SubnormalCellCheck());

    // Inference takes tanh of c' before c' is flushed (LstmPointwise.UpdateState); training's Record flushes first. With f = 1
    // and i = 0 exactly (pre-activations ±30, where sigmoid saturates), c' is the previous c, so the lanes below hold c' at
    // and around float's smallest normal, with o from 0 to 1: h' and c' must be the same bits either way, and +0 where c'
    // is subnormal.
    private sealed class SubnormalCellCheck : IWidthCheck
    {
        public void Run<TWidth, TVector>()
            where TWidth : struct, IVectorWidth<TVector>
            where TVector : struct
        {
            float smallestNormal = BitConverter.Int32BitsToSingle(0x00800000);
            float largestSubnormal = BitConverter.Int32BitsToSingle(0x007FFFFF);
            float[] cells = [largestSubnormal, -largestSubnormal, float.Epsilon, -float.Epsilon, smallestNormal, -smallestNormal,
                2 * smallestNormal, -3 * smallestNormal, 1e-30f, 0f, -0f, smallestNormal / 4, 1.5f * smallestNormal, 1f, -2f, 1e-39f];
            float[] outputGates = [30f, 0f, -5f, -30f];
            var pre = new float[4 * Stride];
            var c0 = new float[Units];
            for (int j = 0; j < Units; j++)
            {
                pre[j] = -30f; // i = 0
                pre[j + Stride] = 30f; // f = 1
                pre[j + 2 * Stride] = 0.7f;
                pre[j + 3 * Stride] = outputGates[j % outputGates.Length];
                c0[j] = cells[j % cells.Length];
            }

            var (h, c, hRecorded, cRecorded, _) = LstmInferenceAndRecord<TWidth, TVector>(pre, c0);

            for (int j = 0; j < Units; j++)
            {
                string lane = $"c {c0[j]:R}, o's pre-activation {pre[j + 3 * Stride]}";
                Assert.True(BitConverter.SingleToInt32Bits(h[j]) == BitConverter.SingleToInt32Bits(hRecorded[j]), $"{lane}: h {h[j]:R} vs training's {hRecorded[j]:R}");
                Assert.True(BitConverter.SingleToInt32Bits(c[j]) == BitConverter.SingleToInt32Bits(cRecorded[j]), $"{lane}: c {c[j]:R} vs training's {cRecorded[j]:R}");
                if (Math.Abs(c0[j]) < smallestNormal)
                {
                    Assert.True(BitConverter.SingleToInt32Bits(h[j]) == 0 && c[j] == 0f, $"{lane}: h {h[j]:R}, c {c[j]:R}, expected +0 and 0");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void FlushSubnormal_zeroes_subnormals_only_and_keeps_nan_and_infinities(string width) => OnWidth(width, new FlushCheck());

    private sealed class FlushCheck : IWidthCheck
    {
        public void Run<TWidth, TVector>()
            where TWidth : struct, IVectorWidth<TVector>
            where TVector : struct
        {
            float smallestNormal = BitConverter.Int32BitsToSingle(0x00800000); // 2^-126, from its bits
            float largestSubnormal = BitConverter.Int32BitsToSingle(0x007FFFFF);
            float[] input = [smallestNormal, -smallestNormal, largestSubnormal, -largestSubnormal, float.Epsilon, -float.Epsilon,
                smallestNormal / 2, 0f, -0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1f, -1e-30f, 2.5e-38f, -3f];
            float[] expected = [smallestNormal, -smallestNormal, 0f, 0f, 0f, 0f,
                0f, 0f, 0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1f, -1e-30f, 2.5e-38f, -3f];
            var output = new float[input.Length];
            for (nuint i = 0; i < (nuint)input.Length; i += TWidth.Lanes)
            {
                TWidth.Store(TWidth.FlushSubnormal(TWidth.Load(ref input[0], i)), ref output[0], i);
            }

            Assert.Equal(Pointwise.SmallestNormal, smallestNormal);
            for (int i = 0; i < input.Length; i++)
            {
                Assert.True(expected[i].Equals(output[i]) || (expected[i] == 0f && output[i] == 0f), $"lane {i}: {input[i]:R} gave {output[i]:R}, expected {expected[i]:R}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Sum_adds_every_lane_once(string width) => OnWidth(width, new SumCheck());

    // Distinct powers of two: any order of adding them is exact, so the sum says which lanes were added and how often.
    private sealed class SumCheck : IWidthCheck
    {
        public void Run<TWidth, TVector>()
            where TWidth : struct, IVectorWidth<TVector>
            where TVector : struct
        {
            int lanes = (int)TWidth.Lanes;
            var values = Enumerable.Range(0, lanes).Select(lane => MathF.Pow(2, lane)).ToArray();
            for (int negative = 0; negative < lanes; negative++)
            {
                var input = (float[])values.Clone();
                input[negative] = -input[negative];
                double expected = input.Sum(v => (double)v);
                Assert.Equal(expected, TWidth.Sum(TWidth.Load(ref input[0], 0)));
            }

            var poisoned = (float[])values.Clone();
            poisoned[lanes - 1] = float.NaN;
            Assert.True(float.IsNaN(TWidth.Sum(TWidth.Load(ref poisoned[0], 0))), "a NaN lane gives a NaN sum");
        }
    }

    // Everything a check computed, in order, for comparing widths.
    private interface IOutputs
    {
        float[] Outputs { get; }
    }

    private interface IWidthCheck
    {
        void Run<TWidth, TVector>()
            where TWidth : struct, IVectorWidth<TVector>
            where TVector : struct;
    }

    private static void OnWidth(string width, IWidthCheck check)
    {
        switch (width)
        {
            case "Vector512": check.Run<Vector512Width, Vector512<float>>(); break;
            case "Vector256": check.Run<Vector256Width, Vector256<float>>(); break;
            case "Vector128": check.Run<Vector128Width, Vector128<float>>(); break;
            default: check.Run<ScalarWidth, float>(); break;
        }
    }

    private static float[] Random(int length, int seed, double scale = 3)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    private static void Close(double expected, float actual, double bound, string what) =>
        Assert.True(Math.Abs(actual - expected) <= bound * Math.Max(1, Math.Abs(expected)), $"{what}: {actual} vs {expected}");

    // d/dx of f at x by central differences in float64.
    private static double Derivative(Func<double, double> f, double x) => (f(x + 1e-6) - f(x - 1e-6)) / 2e-6;

    // Inference (Activate, on a copy of pre, which it overwrites) and training's forward (Record, vector by vector, into
    // new buffers and a tape) of one LSTM step from the same pre-activations and previous c.
    private static (float[] H, float[] C, float[] HRecorded, float[] CRecorded, float[] Tape) LstmInferenceAndRecord<TWidth, TVector>(float[] pre, float[] c0)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
    {
        var activated = (float[])pre.Clone();
        var c = (float[])c0.Clone();
        var h = new float[Units];
        LstmPointwise.Activate<TWidth, TVector>(ref activated[0], ref c[0], ref h[0], Units, Stride);
        var tape = new float[LstmPointwise.TapeValues * Stride];
        var hRecorded = new float[Units];
        var cRecorded = new float[Units];
        for (nuint u = 0; u < Units; u += TWidth.Lanes)
        {
            LstmPointwise.Record<TWidth, TVector>(TWidth.Load(ref pre[0], u), TWidth.Load(ref pre[0], u + Stride), TWidth.Load(ref pre[0], u + 2 * Stride),
                TWidth.Load(ref pre[0], u + 3 * Stride), ref c0[0], ref tape[0], ref hRecorded[0], ref cRecorded[0], u, Stride);
        }

        return (h, c, hRecorded, cRecorded, tape);
    }

    private sealed class LstmCheck : IWidthCheck, IOutputs
    {
        public float[] Outputs { get; private set; } = [];

        public void Run<TWidth, TVector>()
            where TWidth : struct, IVectorWidth<TVector>
            where TVector : struct
        {
            var pre = Random(4 * Stride, 1);
            var c0 = Random(Units, 2, 1);
            var dh = Random(Units, 3, 1);
            var dcIn = Random(Units, 4, 1);

            var (h, c, hNew, cNew, tape) = LstmInferenceAndRecord<TWidth, TVector>(pre, c0);

            Assert.Equal(h, hNew);
            Assert.Equal(c, cNew);

            // Backward: the gradients of the four pre-activations and dL/dc_{t-1}, for L = Σ dh·h' + Σ dc·c'.
            var dc = (float[])dcIn.Clone();
            var gradients = new float[4 * Units];
            for (nuint u = 0; u < Units; u += TWidth.Lanes)
            {
                LstmPointwise.Backward<TWidth, TVector>(ref tape[0], ref c0[0], ref dh[0], ref dc[0], u, Stride, out var di, out var df, out var dg, out var dout);
                TWidth.Store(di, ref gradients[0], u);
                TWidth.Store(df, ref gradients[0], u + Units);
                TWidth.Store(dg, ref gradients[0], u + 2 * Units);
                TWidth.Store(dout, ref gradients[0], u + 3 * Units);
            }

            for (int j = 0; j < Units; j++)
            {
                double[] p = [pre[j], pre[j + Stride], pre[j + 2 * Stride], pre[j + 3 * Stride]];
                (double H, double C) Forward(double[] q, double cPrevious)
                {
                    double cn = Sigmoid(q[1]) * cPrevious + Sigmoid(q[0]) * Math.Tanh(q[2]);
                    return (Sigmoid(q[3]) * Math.Tanh(cn), cn);
                }

                var (expectedH, expectedC) = Forward(p, c0[j]);
                Close(expectedH, h[j], ForwardBound, $"h[{j}]");
                Close(expectedC, c[j], ForwardBound, $"c[{j}]");
                Close(Math.Tanh(expectedC), tape[j + 4 * Stride], ForwardBound, $"tape tanh(c)[{j}]");
                double Loss(double[] q, double cPrevious) => Forward(q, cPrevious) is var (hh, cc) ? dh[j] * hh + dcIn[j] * cc : 0;
                for (int gate = 0; gate < 4; gate++)
                {
                    double expected = Derivative(x => Loss(p.Select((v, k) => k == gate ? x : v).ToArray(), c0[j]), p[gate]);
                    Close(expected, gradients[gate * Units + j], GradientBound, $"dL/d(gate {gate})[{j}]");
                }

                Close(Derivative(x => Loss(p, x), c0[j]), dc[j], GradientBound, $"dL/dc_prev[{j}]");
            }

            Outputs = [.. h, .. c, .. gradients, .. dc];
        }
    }

    private sealed class GruCheck : IWidthCheck, IOutputs
    {
        public float[] Outputs { get; private set; } = [];

        public void Run<TWidth, TVector>()
            where TWidth : struct, IVectorWidth<TVector>
            where TVector : struct
        {
            var pre = Random(4 * Stride, 5);
            var h0 = Random(Units, 6, 1);
            var dh = Random(Units, 7, 1);
            var dhPreviousIn = Random(Units, 8, 1);

            var activated = (float[])pre.Clone();
            var h = (float[])h0.Clone();
            GruPointwise.Activate<TWidth, TVector>(ref activated[0], ref h[0], Units, Stride);

            var tape = new float[GruPointwise.TapeValues * Stride];
            var hNew = new float[Units];
            for (nuint u = 0; u < Units; u += TWidth.Lanes)
            {
                GruPointwise.Record<TWidth, TVector>(TWidth.Load(ref pre[0], u), TWidth.Load(ref pre[0], u + Stride), TWidth.Load(ref pre[0], u + 2 * Stride),
                    TWidth.Load(ref pre[0], u + 3 * Stride), ref h0[0], ref tape[0], ref hNew[0], u, Stride);
            }

            Assert.Equal(h, hNew);

            var dhPrevious = (float[])dhPreviousIn.Clone();
            var gradients = new float[4 * Units];
            for (nuint u = 0; u < Units; u += TWidth.Lanes)
            {
                GruPointwise.Backward<TWidth, TVector>(ref tape[0], ref h0[0], ref dh[0], ref dhPrevious[0], u, Stride, out var dr, out var dz, out var dnx, out var dnh);
                TWidth.Store(dr, ref gradients[0], u);
                TWidth.Store(dz, ref gradients[0], u + Units);
                TWidth.Store(dnx, ref gradients[0], u + 2 * Units);
                TWidth.Store(dnh, ref gradients[0], u + 3 * Units);
            }

            for (int j = 0; j < Units; j++)
            {
                double[] p = [pre[j], pre[j + Stride], pre[j + 2 * Stride], pre[j + 3 * Stride]];
                // PyTorch: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.
                double Forward(double[] q, double hPrevious)
                {
                    double z = Sigmoid(q[1]);
                    return (1 - z) * Math.Tanh(q[2] + Sigmoid(q[0]) * q[3]) + z * hPrevious;
                }

                Close(Forward(p, h0[j]), h[j], ForwardBound, $"h[{j}]");
                for (int slot = 0; slot < 4; slot++)
                {
                    double expected = Derivative(x => dh[j] * Forward(p.Select((v, k) => k == slot ? x : v).ToArray(), h0[j]), p[slot]);
                    Close(expected, gradients[slot * Units + j], GradientBound, $"dL/d(slot {slot})[{j}]");
                }

                // The pointwise step's own path from h_{t-1} to h_t (the path through W_hh is the tile's).
                Close(dhPreviousIn[j] + Derivative(x => dh[j] * Forward(p, x), h0[j]), dhPrevious[j], GradientBound, $"dL/dh_prev[{j}]");
            }

            Outputs = [.. h, .. gradients, .. dhPrevious];
        }
    }

    // The reset-before GRU's pointwise pieces around its second pass. That pass (W_hn (r ⊙ h) + b_hn, a tile's work) is
    // an input here, nh, as is the gradient it leaves for r ⊙ h, drh.
    private sealed class GruResetBeforeCheck : IWidthCheck, IOutputs
    {
        public float[] Outputs { get; private set; } = [];

        public void Run<TWidth, TVector>()
            where TWidth : struct, IVectorWidth<TVector>
            where TVector : struct
        {
            var pre = Random(4 * Stride, 11);
            var h0 = Random(Units, 12, 1);
            var dh = Random(Units, 13, 1);
            var dResetHidden = Random(Units, 14, 1);
            var dhPreviousIn = Random(Units, 15, 1);

            var activated = (float[])pre.Clone();
            var h = (float[])h0.Clone();
            GruResetBeforePointwise.ResetHidden<TWidth, TVector>(ref activated[0], ref h[0], Units);
            var resetHidden = activated[..Units];
            GruResetBeforePointwise.Activate<TWidth, TVector>(ref activated[0], ref h[0], Units, Stride);

            var tape = new float[GruResetBeforePointwise.TapeValues * Stride];
            var hNew = new float[Units];
            for (nuint u = 0; u < Units; u += TWidth.Lanes)
            {
                GruResetBeforePointwise.RecordGates<TWidth, TVector>(TWidth.Load(ref pre[0], u), TWidth.Load(ref pre[0], u + Stride), TWidth.Load(ref pre[0], u + 2 * Stride),
                    ref h0[0], ref tape[0], u, Stride);
            }

            Assert.Equal(resetHidden, tape.AsSpan(GruResetBeforePointwise.ResetHiddenBlock * Stride, Units).ToArray());
            for (nuint u = 0; u < Units; u += TWidth.Lanes)
            {
                GruResetBeforePointwise.RecordCandidate<TWidth, TVector>(TWidth.Load(ref pre[0], u + 3 * Stride), ref h0[0], ref tape[0], ref hNew[0], u, Stride);
            }

            Assert.Equal(h, hNew);

            // Backward: the second pass's gradient first; then (as the pass's columns would) dL/d(r ⊙ h); then the first pass's.
            tape.AsSpan(GruResetBeforePointwise.ResetHiddenGradientBlock * Stride, Stride).Fill(99f);
            GruResetBeforePointwise.ClearResetGradient(ref tape[0], Stride);
            Assert.All(tape.AsSpan(GruResetBeforePointwise.ResetHiddenGradientBlock * Stride, Stride).ToArray(), v => Assert.Equal(0f, v));
            var gradients = new float[4 * Units];
            for (nuint u = 0; u < Units; u += TWidth.Lanes)
            {
                TWidth.Store(GruResetBeforePointwise.BackwardCandidate<TWidth, TVector>(ref tape[0], ref dh[0], u, Stride), ref gradients[0], u + 3 * Units);
            }

            dResetHidden.CopyTo(tape, GruResetBeforePointwise.ResetHiddenGradientBlock * Stride);
            var dhPrevious = (float[])dhPreviousIn.Clone();
            for (nuint u = 0; u < Units; u += TWidth.Lanes)
            {
                GruResetBeforePointwise.BackwardGates<TWidth, TVector>(ref tape[0], ref h0[0], ref dh[0], ref dhPrevious[0], u, Stride, out var dr, out var dz, out var dnx);
                TWidth.Store(dr, ref gradients[0], u);
                TWidth.Store(dz, ref gradients[0], u + Units);
                TWidth.Store(dnx, ref gradients[0], u + 2 * Units);
            }

            for (int j = 0; j < Units; j++)
            {
                double[] p = [pre[j], pre[j + Stride], pre[j + 2 * Stride], pre[j + 3 * Stride]];
                // n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn) with the pass's result p[3]; h' = (1 − z) ⊙ n + z ⊙ h.
                double Forward(double[] q, double hPrevious)
                {
                    double z = Sigmoid(q[1]);
                    return (1 - z) * Math.Tanh(q[2] + q[3]) + z * hPrevious;
                }

                Close(Sigmoid(p[0]) * h0[j], resetHidden[j], ForwardBound, $"(r ⊙ h)[{j}]");
                Close(Forward(p, h0[j]), h[j], ForwardBound, $"h[{j}]");
                Close(Derivative(x => dResetHidden[j] * Sigmoid(x) * h0[j], p[0]), gradients[j], GradientBound, $"dL/dr[{j}]");
                for (int slot = 1; slot < 4; slot++)
                {
                    double expected = Derivative(x => dh[j] * Forward(p.Select((v, k) => k == slot ? x : v).ToArray(), h0[j]), p[slot]);
                    Close(expected, gradients[slot * Units + j], GradientBound, $"dL/d(slot {slot})[{j}]");
                }

                // The pointwise paths from h_{t-1}: through h' directly and through r ⊙ h (the paths through W_hh are the tiles').
                double direct = Derivative(x => dh[j] * Forward(p, x) + dResetHidden[j] * Sigmoid(p[0]) * x, h0[j]);
                Close(dhPreviousIn[j] + direct, dhPrevious[j], GradientBound, $"dL/dh_prev[{j}]");
            }

            Outputs = [.. resetHidden, .. h, .. gradients, .. dhPrevious];
        }
    }

    private sealed class RnnCheck : IWidthCheck, IOutputs
    {
        public float[] Outputs { get; private set; } = [];

        public void Run<TWidth, TVector>()
            where TWidth : struct, IVectorWidth<TVector>
            where TVector : struct
        {
            Outputs = [
                .. Check<TWidth, TVector, TanhActivation>(Math.Tanh, 0f),
                .. Check<TWidth, TVector, ReluActivation>(x => Math.Max(0, x), 0f),
                .. Check<TWidth, TVector, LeakyReluActivation>(x => x > 0 ? x : 0.3 * x, 0.3f),
            ];
        }

        private static float[] Check<TWidth, TVector, TActivation>(Func<double, double> activation, float slope)
            where TWidth : struct, IVectorWidth<TVector>
            where TVector : struct
            where TActivation : struct, IActivation
        {
            var pre = Random(Units, 9);
            var dh = Random(Units, 10, 1);
            var h = new float[Units];
            RnnPointwise.Activate<TWidth, TVector, TActivation>(ref pre[0], ref h[0], Units, slope);
            var tape = new float[RnnPointwise.TapeValues * Units];
            var hNew = new float[Units];
            var gradients = new float[Units];
            for (nuint u = 0; u < Units; u += TWidth.Lanes)
            {
                RnnPointwise.Record<TWidth, TVector, TActivation>(TWidth.Load(ref pre[0], u), ref tape[0], ref hNew[0], u, slope);
                TWidth.Store(RnnPointwise.Backward<TWidth, TVector, TActivation>(ref tape[0], ref dh[0], u, slope), ref gradients[0], u);
            }

            Assert.Equal(h, hNew);
            for (int j = 0; j < Units; j++)
            {
                string what = typeof(TActivation).Name;
                Close(activation(pre[j]), h[j], ForwardBound, $"{what} h[{j}]");
                Close(Derivative(x => dh[j] * activation(x), pre[j]), gradients[j], GradientBound, $"{what} dL/dpre[{j}]");
            }

            return [.. h, .. gradients];
        }
    }
}
