using System.Globalization;
using Embedded.Rnn.Safetensors;

namespace Embedded.Rnn.Training;

/// <summary>
/// torch.optim.SGD: d = g + λp (L2 weight decay); with momentum μ > 0, b = d on the first step and
/// b = μb + d after, and d = b; then p −= lr·d. Its state is the momentum buffer b (none without momentum).
/// </summary>
internal sealed class SgdOptimizer : IOptimizer
{
    private readonly float _momentum;
    private readonly float _weightDecay;

    public SgdOptimizer(float momentum, float weightDecay, IReadOnlyList<float[]> parameters)
    {
        _momentum = momentum;
        _weightDecay = weightDecay;
        MomentumBuffers = momentum > 0 ? parameters.Select(p => new float[p.Length]).ToArray() : [];
    }

    /// <summary>The momentum buffers b (empty without momentum).</summary>
    public float[][] MomentumBuffers { get; }

    /// <summary>Updates taken so far (the first one initialises the momentum buffers).</summary>
    public long Steps { get; private set; }

    public void Update(IReadOnlyList<float[]> parameters, IReadOnlyList<float[]> gradients, float learningRate)
    {
        Steps++;
        float decay = _weightDecay;
        for (int k = 0; k < parameters.Count; k++)
        {
            var p = parameters[k];
            var g = gradients[k];
            var m = _momentum > 0 ? MomentumBuffers[k] : null;
            for (int i = 0; i < p.Length; i++)
            {
                float d = g[i] + decay * p[i];
                if (m is not null)
                {
                    m[i] = Steps == 1 ? d : _momentum * m[i] + d;
                    d = m[i];
                }

                p[i] -= learningRate * d;
            }
        }
    }

    public void WriteState(SafetensorsWriter checkpoint, IReadOnlyList<ParameterSpec> specs)
    {
        checkpoint.AddMetadata(Optimizers.KindKey, nameof(OptimizerKind.Sgd));
        checkpoint.AddMetadata(Optimizers.StepsKey, Steps.ToString(CultureInfo.InvariantCulture));
        for (int k = 0; k < MomentumBuffers.Length; k++)
        {
            checkpoint.Add(Optimizers.FirstPrefix + specs[k].Name, MomentumBuffers[k], specs[k].TensorShape());
        }
    }

    public void ReadState(SafetensorsFile checkpoint, IReadOnlyList<ParameterSpec> specs)
    {
        if (MomentumBuffers.Length > 0)
        {
            Optimizers.RequireKind(checkpoint, nameof(OptimizerKind.Sgd)); // plain SGD keeps no state, so it can follow anything
        }

        long steps = Optimizers.ReadSteps(checkpoint);
        // A checkpoint written without momentum has no buffer: zero, so the next step sets b = d, as PyTorch
        // does for a parameter whose momentum_buffer is still None.
        var buffers = specs.Take(MomentumBuffers.Length)
            .Select(spec => checkpoint.Contains(Optimizers.FirstPrefix + spec.Name) ? Optimizers.ReadEntry(checkpoint, Optimizers.FirstPrefix, spec) : null)
            .ToArray();
        Steps = steps;
        for (int k = 0; k < MomentumBuffers.Length; k++)
        {
            if (buffers[k] is { } buffer)
            {
                buffer.CopyTo(MomentumBuffers[k], 0);
            }
            else
            {
                Array.Clear(MomentumBuffers[k]);
            }
        }
    }
}
