using System;
using System.Collections.Generic;
using System.Linq;

namespace Embedded.Rnn.Hosting;

// Linked as source into the tests and the benchmarks: weights of a model whose state, with the input at zero, decays
// towards zero so slowly that it ends up in subnormal floats and stays there (a rounding fixed point), as a long-memory
// model does on a sensor that goes quiet after a burst. Tiny random weights, zero biases, and one slow path:
//   LSTM: forget gate bias 4.6 (f = 0.99), so c' = 0.99 c + (tiny);
//   GRU: update gate bias 4.6 (z = 0.99), so h' = 0.99 h + (tiny);
//   RNN: identity recurrence (IRNN initialisation) scaled to 0.99, so h' = activation(0.99 h).
// x · 0.99 rounds back to x once x is a subnormal of fewer than 50 units, so the state never reaches zero.
public static class DecayingWeights
{
    public const float SlowGateBias = 4.6f;
    public const float Recurrence = 0.99f;

    /// <summary>Weights for <paramref name="parameters"/> (PyTorch names and shapes) of a <paramref name="cell"/> ("lstm", "gru", or "rnn ...").</summary>
    public static float[][] For(string cell, IReadOnlyList<ParameterSpec> parameters, int hidden, int seed = 7)
    {
        var random = new Random(seed);
        float scale = 0.05f / MathF.Sqrt(hidden);
        var tensors = new float[parameters.Count][];
        for (int p = 0; p < parameters.Count; p++)
        {
            string name = parameters[p].Name;
            var values = new float[parameters[p].ElementCount];
            if (name.StartsWith("weight", StringComparison.Ordinal))
            {
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = (float)(random.NextDouble() * 2 - 1) * scale;
                }
            }

            bool layerBias = name.StartsWith("bias_ih_l", StringComparison.Ordinal);
            if (layerBias && (cell == "lstm" || cell == "gru"))
            {
                // The second gate row block: LSTM's f (i, f, g, o), GRU's z (r, z, n).
                Array.Fill(values, SlowGateBias, hidden, hidden);
            }

            if (cell.StartsWith("rnn", StringComparison.Ordinal) && name.StartsWith("weight_hh_l", StringComparison.Ordinal))
            {
                Array.Clear(values); // the recurrence alone: 0.99 I (random parts could push its spectral radius past 1)
                for (int j = 0; j < hidden; j++)
                {
                    values[j * hidden + j] += Recurrence;
                }
            }

            tensors[p] = values;
        }

        return tensors;
    }

    /// <summary>How many values of h (and, for an LSTM, c) of every layer and direction of <paramref name="state"/> are subnormal.</summary>
    public static int Subnormals<TState>(ref TState state, RnnShape shape)
        where TState : struct, IRnnState
    {
        int count = 0;
        for (int layer = 0; layer < shape.LayerCount; layer++)
        {
            for (int direction = 0; direction < shape.DirectionCount; direction++)
            {
                count += Subnormals(state.Hidden(layer, direction)) + (shape.Cell == "lstm" ? Subnormals(state.Cell(layer, direction)) : 0);
            }
        }

        return count;
    }

    private static int Subnormals(ReadOnlySpan<float> values)
    {
        int count = 0;
        foreach (float v in values)
        {
            count += float.IsSubnormal(v) ? 1 : 0;
        }

        return count;
    }
}
