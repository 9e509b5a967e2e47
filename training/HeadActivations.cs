namespace Embedded.Rnn.Training;

/// <summary>The dense head's activations and their derivatives, on the runtime's operators (as inference uses).</summary>
public static class HeadActivations
{
    /// <summary>y = activation(z).</summary>
    public static void Apply(HeadActivation activation, ReadOnlySpan<float> z, Span<float> y)
    {
        switch (activation)
        {
            case HeadActivation.Sigmoid:
                for (int i = 0; i < z.Length; i++)
                {
                    y[i] = SigmoidOperator.Invoke(z[i]);
                }

                break;
            case HeadActivation.Tanh:
                for (int i = 0; i < z.Length; i++)
                {
                    y[i] = TanhOperator.Invoke(z[i]);
                }

                break;
            case HeadActivation.Softmax:
                z.CopyTo(y);
                Softmax.InPlace(y);
                break;
            default:
                z.CopyTo(y);
                break;
        }
    }

    /// <summary>dL/dz from dL/dy and y = activation(z).</summary>
    public static void Backward(HeadActivation activation, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dz)
    {
        switch (activation)
        {
            case HeadActivation.Sigmoid:
                for (int i = 0; i < y.Length; i++)
                {
                    dz[i] = dy[i] * y[i] * (1f - y[i]);
                }

                break;
            case HeadActivation.Tanh:
                for (int i = 0; i < y.Length; i++)
                {
                    dz[i] = dy[i] * (1f - y[i] * y[i]);
                }

                break;
            case HeadActivation.Softmax:
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
                dy.CopyTo(dz);
                break;
        }
    }
}
