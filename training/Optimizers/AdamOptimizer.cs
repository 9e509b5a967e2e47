using System.Globalization;
using System.Numerics;
using Embedded.Rnn.Safetensors;

namespace Embedded.Rnn.Training;

/// <summary>
/// torch.optim.Adam, or torch.optim.AdamW with <c>decoupledWeightDecay</c>. At step t:
/// Adam adds λp to the gradient, AdamW instead multiplies p by 1 − lr·λ; then m = β1·m + (1 − β1)·g,
/// v = β2·v + (1 − β2)·g², and p −= lr·(m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε). Its state is m, v and t.
/// </summary>
internal sealed class AdamOptimizer : IOptimizer
{
    private readonly float _beta1;
    private readonly float _beta2;
    private readonly float _epsilon;
    private readonly float _weightDecay;
    private readonly bool _decoupled;

    public AdamOptimizer(float beta1, float beta2, float epsilon, float weightDecay, bool decoupledWeightDecay, IReadOnlyList<float[]> parameters)
    {
        _beta1 = beta1;
        _beta2 = beta2;
        _epsilon = epsilon;
        _weightDecay = weightDecay;
        _decoupled = decoupledWeightDecay;
        FirstMoments = parameters.Select(p => new float[p.Length]).ToArray();
        SecondMoments = parameters.Select(p => new float[p.Length]).ToArray();
    }

    /// <summary>m, PyTorch's exp_avg.</summary>
    public float[][] FirstMoments { get; }

    /// <summary>v, PyTorch's exp_avg_sq.</summary>
    public float[][] SecondMoments { get; }

    /// <summary>t, the updates taken so far (the bias corrections use it).</summary>
    public long Steps { get; private set; }

    public void Update(IReadOnlyList<float[]> parameters, IReadOnlyList<float[]> gradients, float learningRate)
    {
        Steps++;
        float decay = _weightDecay;
        float b1 = _beta1;
        float b2 = _beta2;
        float correction1 = 1f - MathF.Pow(b1, Steps);
        float correction2 = 1f - MathF.Pow(b2, Steps);
        for (int k = 0; k < parameters.Count; k++)
        {
            var p = parameters[k];
            var g = gradients[k];
            var m = FirstMoments[k];
            var v = SecondMoments[k];
            // Vectors, then the tail: the same operations in the same order per element (no fused multiply-add, IEEE
            // division and square root), so both give the scalar loop's result bit for bit.
            int i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; i <= p.Length - Vector<float>.Count; i += Vector<float>.Count)
                {
                    var pi = new Vector<float>(p, i);
                    var gi = new Vector<float>(g, i);
                    if (_decoupled)
                    {
                        pi *= new Vector<float>(1f - learningRate * decay);
                    }
                    else
                    {
                        gi += new Vector<float>(decay) * pi;
                    }

                    var mi = new Vector<float>(b1) * new Vector<float>(m, i) + new Vector<float>(1f - b1) * gi;
                    var vi = new Vector<float>(b2) * new Vector<float>(v, i) + new Vector<float>(1f - b2) * gi * gi;
                    mi.CopyTo(m, i);
                    vi.CopyTo(v, i);
                    pi -= new Vector<float>(learningRate) * (mi / new Vector<float>(correction1)) / (Vector.SquareRoot(vi / new Vector<float>(correction2)) + new Vector<float>(_epsilon));
                    pi.CopyTo(p, i);
                }
            }

            for (; i < p.Length; i++)
            {
                float gi = g[i];
                if (_decoupled)
                {
                    p[i] *= 1f - learningRate * decay;
                }
                else
                {
                    gi += decay * p[i];
                }

                m[i] = b1 * m[i] + (1f - b1) * gi;
                v[i] = b2 * v[i] + (1f - b2) * gi * gi;
                p[i] -= learningRate * (m[i] / correction1) / (MathF.Sqrt(v[i] / correction2) + _epsilon);
            }
        }
    }

    public void WriteState(SafetensorsWriter checkpoint, IReadOnlyList<ParameterSpec> specs)
    {
        checkpoint.AddMetadata(Optimizers.KindKey, _decoupled ? nameof(OptimizerKind.AdamW) : nameof(OptimizerKind.Adam));
        checkpoint.AddMetadata(Optimizers.StepsKey, Steps.ToString(CultureInfo.InvariantCulture));
        for (int k = 0; k < specs.Count; k++)
        {
            long[] shape = specs[k].TensorShape();
            checkpoint.Add(Optimizers.FirstPrefix + specs[k].Name, FirstMoments[k], shape);
            checkpoint.Add(Optimizers.SecondPrefix + specs[k].Name, SecondMoments[k], shape);
        }
    }

    public void ReadState(SafetensorsFile checkpoint, IReadOnlyList<ParameterSpec> specs)
    {
        // Adam and AdamW keep the same moments (they differ only in how weight decay enters).
        Optimizers.RequireKind(checkpoint, nameof(OptimizerKind.Adam), nameof(OptimizerKind.AdamW));
        long steps = Optimizers.ReadSteps(checkpoint);
        var first = specs.Select(spec => Optimizers.ReadEntry(checkpoint, Optimizers.FirstPrefix, spec)).ToArray();
        var second = specs.Select(spec => Optimizers.ReadEntry(checkpoint, Optimizers.SecondPrefix, spec)).ToArray();
        Steps = steps;
        for (int k = 0; k < specs.Count; k++)
        {
            first[k].CopyTo(FirstMoments[k], 0);
            second[k].CopyTo(SecondMoments[k], 0);
        }
    }
}
