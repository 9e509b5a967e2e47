namespace Embedded.Rnn.Training;

/// <summary>
/// PyTorch's MSELoss with mean reduction: L = Σᵢ (yᵢ − tᵢ)² / n over the n outputs, so dL/dyᵢ = 2 (yᵢ − tᵢ) / n.
/// </summary>
internal sealed class MeanSquaredError : ILoss
{
    public bool GradientIsPreActivation => false;

    public double Evaluate(ReadOnlySpan<float> y, ReadOnlySpan<float> target, Span<float> gradient, int steps, int batch)
    {
        double scale = 1.0 / (batch * (double)steps);
        double loss = 0;
        for (int i = 0; i < y.Length; i++)
        {
            double d = y[i] - target[i];
            loss += d * d / y.Length;
            gradient[i] = (float)(2 * d / y.Length * scale);
        }

        return loss / steps;
    }
}
