namespace Embedded.Rnn.Training;

/// <summary>SGD with momentum, Adam and AdamW over PyTorch-layout tensors, with PyTorch's update formulas.</summary>
internal sealed class ParameterOptimizer
{
    private readonly TrainingOptions _options;

    public ParameterOptimizer(TrainingOptions options, IReadOnlyList<float[]> parameters)
    {
        _options = options;
        First = parameters.Select(p => new float[p.Length]).ToArray();
        Second = parameters.Select(p => new float[p.Length]).ToArray();
    }

    /// <summary>SGD momentum buffers, or Adam's first moments.</summary>
    public float[][] First { get; }

    /// <summary>Adam's second moments (unused by SGD).</summary>
    public float[][] Second { get; }

    /// <summary>Updates taken so far (Adam's bias correction uses it).</summary>
    public long Steps { get; set; }

    public void Update(IReadOnlyList<float[]> parameters, IReadOnlyList<float[]> gradients, float learningRate)
    {
        Steps++;
        float decay = _options.WeightDecay;
        for (int k = 0; k < parameters.Count; k++)
        {
            var p = parameters[k];
            var g = gradients[k];
            var m = First[k];
            var v = Second[k];
            switch (_options.Optimizer)
            {
                case OptimizerKind.Sgd:
                    for (int i = 0; i < p.Length; i++)
                    {
                        float d = g[i] + decay * p[i];
                        if (_options.Momentum > 0)
                        {
                            m[i] = Steps == 1 ? d : _options.Momentum * m[i] + d;
                            d = m[i];
                        }

                        p[i] -= learningRate * d;
                    }

                    break;
                default:
                    bool decoupled = _options.Optimizer == OptimizerKind.AdamW;
                    float b1 = _options.Beta1;
                    float b2 = _options.Beta2;
                    float correction1 = 1f - MathF.Pow(b1, Steps);
                    float correction2 = 1f - MathF.Pow(b2, Steps);
                    for (int i = 0; i < p.Length; i++)
                    {
                        float gi = g[i];
                        if (decoupled)
                        {
                            p[i] *= 1f - learningRate * decay;
                        }
                        else
                        {
                            gi += decay * p[i];
                        }

                        m[i] = b1 * m[i] + (1f - b1) * gi;
                        v[i] = b2 * v[i] + (1f - b2) * gi * gi;
                        p[i] -= learningRate * (m[i] / correction1) / (MathF.Sqrt(v[i] / correction2) + _options.Epsilon);
                    }

                    break;
            }
        }
    }
}
