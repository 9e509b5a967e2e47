namespace Embedded.Rnn.Tests.Support;

/// <summary>What the double-precision reference implements; cells are named as in refs/ metadata.</summary>
public sealed record ReferenceSpec(
    string Cell, int InputSize, int HiddenSize, int Layers = 1, bool Bidirectional = false, bool Bias = true,
    double NegativeSlope = 0.01, int HeadOutput = 0, string HeadActivation = "none")
{
    public int Directions => Bidirectional ? 2 : 1;

    public int Gates => Cell switch { "lstm" => 4, "gru" or "gru_reset_before" => 3, _ => 1 };
}

/// <summary>
/// A plain float64 implementation of PyTorch's RNN/LSTM/GRU equations (refs/README.md), written for
/// clarity, not speed. It is itself checked against every PyTorch reference case, and then serves as the
/// derivation for configurations the references do not cover (heads, leaky ReLU, deeper stacks).
/// </summary>
public static class ReferenceRnn
{
    public sealed record Result(double[] Output, double[][] HN, double[][] CN);

    /// <summary>Random inputs (±2) and initial states (±0.5) for a model, with the float64 result they should give.</summary>
    public sealed record Scenario(float[] Inputs, float[][] H0, float[][]? C0, Result Expected);

    public static Scenario RandomScenario(ReferenceSpec s, IReadOnlyDictionary<string, double[]> parameters, int steps, Random random)
    {
        var xs = Enumerable.Range(0, steps * s.InputSize).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        int slots = s.Layers * s.Directions;
        float[][] States() => Enumerable.Range(0, slots).Select(_ => Enumerable.Range(0, s.HiddenSize).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray()).ToArray();
        var h0 = States();
        var c0 = s.Cell == "lstm" ? States() : null;
        static double[] Wide(float[] v) => Array.ConvertAll(v, x => (double)x);
        var expected = Run(s, parameters, Wide(xs), h0.Select(Wide).ToArray(), c0?.Select(Wide).ToArray());
        return new Scenario(xs, h0, c0, expected);
    }

    public static Result Run(ReferenceSpec s, IReadOnlyDictionary<string, double[]> p, double[] xs, double[][] h0, double[][]? c0)
    {
        int steps = xs.Length / s.InputSize;
        int width = s.InputSize;
        var layerInput = Enumerable.Range(0, steps).Select(t => xs.AsSpan(t * width, width).ToArray()).ToArray();
        var hn = new double[s.Layers * s.Directions][];
        var cn = new double[s.Layers * s.Directions][];
        for (int layer = 0; layer < s.Layers; layer++)
        {
            var output = Enumerable.Range(0, steps).Select(_ => new double[s.Directions * s.HiddenSize]).ToArray();
            for (int direction = 0; direction < s.Directions; direction++)
            {
                int slot = layer * s.Directions + direction;
                string suffix = layer + (direction == 1 ? "_reverse" : string.Empty);
                var h = (double[])h0[slot].Clone();
                var c = c0 is null ? new double[s.HiddenSize] : (double[])c0[slot].Clone();
                for (int i = 0; i < steps; i++)
                {
                    int t = direction == 0 ? i : steps - 1 - i;
                    (h, c) = Cell(s, p, suffix, layerInput[t], h, c);
                    h.CopyTo(output[t], direction * s.HiddenSize);
                }

                hn[slot] = h;
                cn[slot] = c;
            }

            layerInput = output;
        }

        var result = layerInput;
        if (s.HeadOutput > 0)
        {
            result = layerInput.Select(v => Head(s, p, v)).ToArray();
        }

        return new Result(result.SelectMany(v => v).ToArray(), hn, cn);
    }

    private static (double[] H, double[] C) Cell(ReferenceSpec s, IReadOnlyDictionary<string, double[]> p, string suffix, double[] x, double[] h, double[] c)
    {
        int hidden = s.HiddenSize;
        var gi = Affine(p["weight_ih_l" + suffix], s.Bias ? p["bias_ih_l" + suffix] : null, x, s.Gates * hidden);
        var gh = Affine(p["weight_hh_l" + suffix], s.Bias ? p["bias_hh_l" + suffix] : null, h, s.Gates * hidden);
        if (s.Cell == "gru_reset_before")
        {
            // The candidate's recurrent product reads r ⊙ h: gh's n block is recomputed over it.
            var resetHidden = Enumerable.Range(0, hidden).Select(j => Sigmoid(gi[j] + gh[j]) * h[j]).ToArray();
            var candidate = Affine(p["weight_hh_l" + suffix].AsSpan(2 * hidden * hidden).ToArray(), s.Bias ? p["bias_hh_l" + suffix].AsSpan(2 * hidden).ToArray() : null, resetHidden, hidden);
            candidate.CopyTo(gh, 2 * hidden);
        }

        var hNew = new double[hidden];
        var cNew = new double[hidden];
        for (int j = 0; j < hidden; j++)
        {
            switch (s.Cell)
            {
                case "lstm":
                    double i = Sigmoid(gi[j] + gh[j]);
                    double f = Sigmoid(gi[hidden + j] + gh[hidden + j]);
                    double g = Math.Tanh(gi[2 * hidden + j] + gh[2 * hidden + j]);
                    double o = Sigmoid(gi[3 * hidden + j] + gh[3 * hidden + j]);
                    cNew[j] = f * c[j] + i * g;
                    hNew[j] = o * Math.Tanh(cNew[j]);
                    break;
                case "gru_reset_before":
                    double zBefore = Sigmoid(gi[hidden + j] + gh[hidden + j]);
                    hNew[j] = (1 - zBefore) * Math.Tanh(gi[2 * hidden + j] + gh[2 * hidden + j]) + zBefore * h[j];
                    break;
                case "gru":
                    double r = Sigmoid(gi[j] + gh[j]);
                    double z = Sigmoid(gi[hidden + j] + gh[hidden + j]);
                    double n = Math.Tanh(gi[2 * hidden + j] + r * gh[2 * hidden + j]);
                    hNew[j] = (1 - z) * n + z * h[j];
                    break;
                default:
                    double a = gi[j] + gh[j];
                    hNew[j] = s.Cell switch
                    {
                        "rnn_tanh" => Math.Tanh(a),
                        "rnn_relu" => Math.Max(0, a),
                        "rnn_leaky_relu" => a > 0 ? a : s.NegativeSlope * a,
                        _ => throw new ArgumentException(s.Cell),
                    };
                    break;
            }
        }

        return (hNew, cNew);
    }

    private static double[] Head(ReferenceSpec s, IReadOnlyDictionary<string, double[]> p, double[] v)
    {
        var z = Affine(p["head.weight"], p["head.bias"], v, s.HeadOutput);
        switch (s.HeadActivation)
        {
            case "sigmoid": return z.Select(Sigmoid).ToArray();
            case "tanh": return z.Select(Math.Tanh).ToArray();
            case "softmax":
                double max = z.Max();
                var e = z.Select(a => Math.Exp(a - max)).ToArray();
                double sum = e.Sum();
                return e.Select(a => a / sum).ToArray();
            default: return z;
        }
    }

    private static double[] Affine(double[] weight, double[]? bias, double[] x, int rows)
    {
        var y = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double sum = bias?[r] ?? 0;
            for (int k = 0; k < x.Length; k++)
            {
                sum += weight[r * x.Length + k] * x[k];
            }

            y[r] = sum;
        }

        return y;
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
}
