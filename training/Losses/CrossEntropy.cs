namespace Embedded.Rnn.Training;

/// <summary>
/// Cross-entropy of a softmax head's probabilities y against target probabilities t (one-hot for a class):
/// L = −Σᵢ tᵢ log yᵢ. Through the softmax, dL/dzᵢ = yᵢ − tᵢ when Σ t = 1, which is what it writes
/// (<see cref="GradientIsPreActivation"/>). log is taken of max(yᵢ, 1e-30), so a saturated softmax gives a large
/// finite loss instead of infinity.
/// </summary>
internal sealed class CrossEntropy : ILoss
{
    public bool GradientIsPreActivation => true;

    public double Evaluate(ReadOnlySpan<float> y, ReadOnlySpan<float> target, Span<float> gradient, int steps, int batch)
    {
        double scale = 1.0 / (batch * (double)steps);
        double loss = 0;
        for (int i = 0; i < y.Length; i++)
        {
            loss -= target[i] * Math.Log(Math.Max(y[i], 1e-30));
            gradient[i] = (float)((y[i] - target[i]) * scale);
        }

        return loss / steps;
    }
}
