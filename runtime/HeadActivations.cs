using System.Runtime.InteropServices;
using Embedded.Rnn.Kernels;

namespace Embedded.Rnn;

/// <summary>
/// The dense head's activations and their derivatives: inference applies them after the head's kernel, the trainer
/// back-propagates through them. Sigmoid and tanh are the cells' <see cref="IActivation"/> types on the scalar width.
/// </summary>
public static class HeadActivations
{
    /// <summary>y = activation(z).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="activation"/> is not a defined value.</exception>
    public static void Apply(HeadActivation activation, ReadOnlySpan<float> z, Span<float> y)
    {
        ref float source = ref MemoryMarshal.GetReference(z);
        ref float destination = ref MemoryMarshal.GetReference(y);
        switch (activation)
        {
            case HeadActivation.None:
                z.CopyTo(y);
                break;
            case HeadActivation.Sigmoid:
                Pointwise.Apply<ScalarWidth, float, SigmoidActivation>(ref source, ref destination, (nuint)z.Length);
                break;
            case HeadActivation.Tanh:
                Pointwise.Apply<ScalarWidth, float, TanhActivation>(ref source, ref destination, (nuint)z.Length);
                break;
            case HeadActivation.Softmax:
                z.CopyTo(y);
                Softmax.InPlace(y);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(activation), activation, "not a HeadActivation.");
        }
    }

    /// <summary>dL/dz from dL/dy and y = activation(z).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="activation"/> is not a defined value.</exception>
    public static void Backward(HeadActivation activation, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dz)
    {
        switch (activation)
        {
            case HeadActivation.None:
                dy.CopyTo(dz);
                break;
            case HeadActivation.Sigmoid:
                for (int i = 0; i < y.Length; i++)
                {
                    dz[i] = SigmoidActivation.Backward<ScalarWidth, float>(y[i], dy[i], 0f);
                }

                break;
            case HeadActivation.Tanh:
                for (int i = 0; i < y.Length; i++)
                {
                    dz[i] = TanhActivation.Backward<ScalarWidth, float>(y[i], dy[i], 0f);
                }

                break;
            case HeadActivation.Softmax:
                // The softmax Jacobian: dz_i = y_i (dy_i − Σ_j dy_j y_j).
                float dot = 0f;
                for (int i = 0; i < y.Length; i++)
                {
                    dot += dy[i] * y[i];
                }

                for (int i = 0; i < y.Length; i++)
                {
                    dz[i] = y[i] * (dy[i] - dot);
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(activation), activation, "not a HeadActivation.");
        }
    }
}
