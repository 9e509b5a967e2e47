namespace Embedded.Rnn.Training;

/// <summary>
/// Runs mini-batches on the model's generated kernels: a batch is cut into <see cref="MaxShards"/> contiguous
/// shards (fewer for a small BatchSize), each with its own <see cref="SequenceBackprop"/>, processed by a
/// <see cref="ShardPool{TContext}"/>; losses and gradients are then reduced in shard order. The shard count does
/// not depend on the worker count, so neither do the results.
/// </summary>
internal sealed class BatchRunner : IDisposable
{
    /// <summary>Shards per mini-batch: fixed, so results do not depend on the number of cores.</summary>
    public const int MaxShards = 8;

    private readonly ITrainableRnnModel _model;
    private readonly TrainingOptions _options;
    private readonly WindowLoss _loss;
    private Shard[] _shards = [];
    private ShardPool<BatchContext>? _pool;

    public BatchRunner(ITrainableRnnModel model, TrainingOptions options, WindowLoss loss)
    {
        _model = model;
        _options = options;
        _loss = loss;
    }

    /// <summary>The longest sequence in <paramref name="examples"/>, in steps.</summary>
    public static int LongestSequence(IReadOnlyList<TrainingExample> examples, int inputSize)
    {
        int longest = 0;
        for (int i = 0; i < examples.Count; i++)
        {
            longest = Math.Max(longest, examples[i].Inputs.Length / inputSize);
        }

        return longest;
    }

    /// <summary>Makes the shards' buffers hold sequences of up to <paramref name="maxSteps"/> steps (a truncated-BPTT window at most).</summary>
    public void EnsureCapacity(int maxSteps)
    {
        int window = Math.Min(maxSteps, _options.TruncatedSteps ?? maxSteps);
        if (_shards.Length == 0 || _shards[0].Backprop.MaxSteps < window)
        {
            CreateShards(window, maxSteps); // apart, so the common path does not allocate the lambda's closure
        }
    }

    /// <summary>
    /// Runs the batch: forward and loss for every example and, in training, backward into the shards' packed
    /// gradients (collect them with <see cref="SumGradients"/>). Returns the batch's mean loss.
    /// </summary>
    public double Run(in BatchContext batch)
    {
        _pool!.Run(batch);
        double loss = 0;
        foreach (var shard in _shards)
        {
            loss += shard.Loss; // fixed order: deterministic
        }

        return loss / batch.Count;
    }

    /// <summary>
    /// Sets <paramref name="gradients"/> (PyTorch layout, ParameterSpecs order) to the sum of the shards' packed
    /// gradients of the last training batch, added in shard order; returns their global L2 norm.
    /// </summary>
    public double SumGradients(float[][] gradients)
    {
        foreach (var g in gradients)
        {
            Array.Clear(g);
        }

        foreach (var shard in _shards)
        {
            _model.AccumulateGradients(shard.Backprop.PackedGradients, gradients);
        }

        double squares = 0;
        foreach (var g in gradients)
        {
            foreach (float v in g)
            {
                squares += (double)v * v;
            }
        }

        return Math.Sqrt(squares);
    }

    public void Dispose() => _pool?.Dispose();

    private void CreateShards(int window, int maxSteps)
    {
        _pool?.Dispose();
        _shards = Enumerable.Range(0, Math.Min(MaxShards, _options.BatchSize))
            .Select(_ => new Shard(new SequenceBackprop(_model, window), maxSteps, _model.Shape.OutputSize))
            .ToArray();
        _pool = new ShardPool<BatchContext>(_options.Workers, _shards.Length, ProcessShard);
    }

    // One shard's share of the batch: a contiguous run of its examples.
    private void ProcessShard(int index, in BatchContext batch)
    {
        var shard = _shards[index];
        shard.Loss = 0;
        shard.Backprop.ClearGradients();
        int from = batch.Start + batch.Count * index / _shards.Length;
        int to = batch.Start + batch.Count * (index + 1) / _shards.Length;
        for (int n = from; n < to; n++)
        {
            var random = new DeterministicRandom(_options.Seed, RandomStreams.Dropout, (ulong)(batch.Step * _options.BatchSize + n - batch.Start));
            RunExample(shard, batch[n], batch.Count, batch.Training, ref random);
        }
    }

    // Forward, loss and (in training) backward of one example, window by window. Each window's loss is added to
    // the shard's straight away: the order of the additions is part of the result.
    private void RunExample(Shard shard, TrainingExample example, int batchCount, bool training, ref DeterministicRandom random)
    {
        var shape = _model.Shape;
        int steps = example.Inputs.Length / shape.InputSize;
        // Windows carry the state forward, so evaluation through them gives the same outputs as one pass (TrainingOptions
        // allows windows for unidirectional models only).
        int window = _options.TruncatedSteps is int k ? Math.Min(k, steps) : steps;
        var backprop = shard.Backprop;
        if (window > backprop.MaxSteps)
        {
            throw new InvalidOperationException("internal: shard buffers are shorter than the window");
        }

        ResetInitialState(backprop);
        for (int start = 0; start < steps; start += window)
        {
            int length = Math.Min(window, steps - start);
            var inputs = example.Inputs.AsSpan(start * shape.InputSize, length * shape.InputSize);
            var outputs = training && _options.Dropout > 0
                ? backprop.Forward(inputs, _options.Dropout, ref random)
                : backprop.Forward(inputs);
            bool last = start + length == steps;
            var gradient = shard.OutputGradient.AsSpan(0, outputs.Length);
            gradient.Clear();
            if (_loss.Scores(last))
            {
                shard.Loss += _loss.Evaluate(outputs, example.Targets, start, length, steps, gradient, batchCount);
                if (training)
                {
                    backprop.Backward(gradient, _loss.GradientIsPreActivation);
                }
            }

            if (!last)
            {
                CarryState(backprop);
            }
        }
    }

    private void ResetInitialState(SequenceBackprop backprop)
    {
        var shape = _model.Shape;
        for (int layer = 0; layer < shape.LayerCount; layer++)
        {
            for (int direction = 0; direction < shape.DirectionCount; direction++)
            {
                backprop.InitialHidden(layer, direction).Clear();
                backprop.InitialCell(layer, direction).Clear();
            }
        }
    }

    // Truncated BPTT: the next window starts from this window's final state, without a gradient through it.
    private void CarryState(SequenceBackprop backprop)
    {
        var shape = _model.Shape;
        for (int layer = 0; layer < shape.LayerCount; layer++)
        {
            backprop.FinalHidden(layer).CopyTo(backprop.InitialHidden(layer));
            if (_model.HasCellState)
            {
                backprop.FinalCell(layer).CopyTo(backprop.InitialCell(layer));
            }
        }
    }

    private sealed class Shard(SequenceBackprop backprop, int maxSteps, int outputs)
    {
        public SequenceBackprop Backprop { get; } = backprop;

        public float[] OutputGradient { get; } = new float[maxSteps * outputs];

        public double Loss { get; set; }
    }
}
