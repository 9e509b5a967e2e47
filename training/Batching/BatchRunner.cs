using System.Numerics.Tensors;

namespace Embedded.Rnn.Training;

/// <summary>
/// Runs mini-batches on the model's generated kernels: a batch is cut into <see cref="MaxShards"/> contiguous
/// shards (fewer for a small BatchSize), each with its own <see cref="SequenceBackprop"/>, processed by a
/// <see cref="ShardPool{TContext}"/>; losses are then added in shard order and gradients in a fixed pairwise tree. The
/// shard count does not depend on the worker count, so neither do the results.
/// </summary>
/// <remarks>
/// The tree: for half = 1, 2, 4, …, shard f's packed gradients += shard f + half's, for every f that is a multiple of
/// 2·half (while f + half is a shard). Shard 0 then holds the sum. A worker adds the nodes whose shards are all its own as
/// soon as it has run the last of them, while their gradients are still in its cache; the caller adds the rest after the
/// run. Who adds a node does not change its bits.
/// </remarks>
internal sealed class BatchRunner : IDisposable
{
    /// <summary>Shards per mini-batch: fixed, so results do not depend on the number of cores.</summary>
    public const int MaxShards = 8;

    /// <summary>
    /// Most examples a shard runs in lockstep: a shard's examples of one length go through the kernels together, so
    /// backward loads each weight and gradient vector once per group of streams instead of once per example.
    /// </summary>
    public const int MaxStreams = 8;

    private readonly ITrainableRnnModel _model;
    private readonly TrainingOptions _options;
    private readonly WindowLoss _loss;
    private Shard[] _shards = [];
    private (int Left, int Right)[][] _localNodes = []; // per shard, the tree's nodes its worker adds after running it
    private (int Left, int Right)[] _sharedNodes = []; // the tree's nodes added after the run
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
            CreateShards(window); // apart, so the common path does not allocate the lambda's closure
        }
    }

    /// <summary>
    /// Runs the batch: forward and loss for every example and, in training, backward into the shards' packed
    /// gradients (collect them with <see cref="SumGradients"/>). Returns the batch's mean loss.
    /// </summary>
    public double Run(in BatchContext batch)
    {
        _pool!.Run(batch);
        if (batch.Training)
        {
            AddSharedNodes();
        }

        double loss = 0;
        foreach (var shard in _shards)
        {
            loss += shard.Loss; // fixed order: deterministic
        }

        return loss / batch.Count;
    }

    /// <summary>
    /// Sets <paramref name="gradients"/> (PyTorch layout, ParameterSpecs order) to the sum of the shards' packed gradients
    /// of the last training batch (the tree's, in shard 0); returns their global L2 norm.
    /// </summary>
    public double SumGradients(float[][] gradients)
    {
        foreach (var g in gradients)
        {
            Array.Clear(g);
        }

        _model.AccumulateGradients(_shards[0].Backprop.PackedGradients, gradients);

        double squares = 0;
        foreach (var g in gradients)
        {
            squares += SquareSums.Of(g);
        }

        return Math.Sqrt(squares);
    }

    /// <summary>
    /// The nodes of the gradient tree (see the remarks) whose last shard is <paramref name="shard"/> and whose shards all run
    /// on its worker (<paramref name="firstShardOfWorker"/>: per shard, the first shard of the worker that runs it), lowest
    /// first, as (left, right) pairs: that worker adds them once it has run the shard.
    /// </summary>
    internal static IEnumerable<(int Left, int Right)> LocalNodes(int shard, IReadOnlyList<int> firstShardOfWorker) =>
        from node in Nodes(firstShardOfWorker.Count)
        where node.Last == shard && OnOneWorker(node, firstShardOfWorker)
        select (node.Left, node.Right);

    /// <summary>The nodes of the gradient tree whose shards span two workers or more (the caller's, after the run), lowest level first.</summary>
    internal static IEnumerable<(int Left, int Right)> SharedNodes(IReadOnlyList<int> firstShardOfWorker) =>
        from node in Nodes(firstShardOfWorker.Count)
        where !OnOneWorker(node, firstShardOfWorker)
        select (node.Left, node.Right);

    // Every node of the tree over `shards` shards, lowest level first: shard Right's sum is added into shard Left's, and
    // the node covers shards Left to Last.
    private static IEnumerable<(int Left, int Right, int Last)> Nodes(int shards)
    {
        for (int half = 1; half < shards; half *= 2)
        {
            for (int left = 0; left + half < shards; left += 2 * half)
            {
                yield return (left, left + half, Math.Min(left + 2 * half, shards) - 1);
            }
        }
    }

    // Workers run contiguous shards, so a node's shards share a worker when its last shard's worker starts at or before its first.
    private static bool OnOneWorker((int Left, int Right, int Last) node, IReadOnlyList<int> firstShardOfWorker) =>
        firstShardOfWorker[node.Last] <= node.Left;

    public void Dispose() => _pool?.Dispose();

    private void CreateShards(int window)
    {
        _pool?.Dispose();
        int shards = Math.Min(MaxShards, _options.BatchSize);
        int streams = Math.Min(MaxStreams, ((_options.BatchSize - 1) / shards) + 1); // no overflow at BatchSize int.MaxValue
        _shards = Enumerable.Range(0, shards)
            .Select(_ => new Shard(new SequenceBackprop(_model, window, streams), window, _model.Shape.OutputSize))
            .ToArray();
        int workers = ShardPool<BatchContext>.WorkerCount(_options.Workers, shards);
        var firstShardOfWorker = new int[shards]; // per shard, the first shard of the worker that runs it
        for (int w = 0; w < workers; w++)
        {
            int first = ShardPool<BatchContext>.FirstShard(w, workers, shards);
            Array.Fill(firstShardOfWorker, first, first, ShardPool<BatchContext>.FirstShard(w + 1, workers, shards) - first);
        }

        _localNodes = Enumerable.Range(0, shards).Select(s => LocalNodes(s, firstShardOfWorker).ToArray()).ToArray();
        _sharedNodes = SharedNodes(firstShardOfWorker).ToArray();

        _pool = new ShardPool<BatchContext>(_options.Workers, _shards.Length, ProcessShard);
    }

    // Shard right's packed gradients added into shard left's (a node of the gradient tree).
    private void AddShards(int left, int right)
    {
        var sums = _shards[left].Backprop.PackedGradients;
        var addends = _shards[right].Backprop.PackedGradients;
        for (int b = 0; b < sums.Length; b++)
        {
            TensorPrimitives.Add(sums[b], addends[b], sums[b]);
        }
    }

    private void AddSharedNodes()
    {
        foreach (var (left, right) in _sharedNodes)
        {
            AddShards(left, right);
        }
    }

    // One shard's share of the batch: a contiguous run of its examples, taken in groups of consecutive examples of one length,
    // which run in lockstep (backward takes each step of a group through the model's streams kernel).
    private void ProcessShard(int index, in BatchContext batch)
    {
        var shard = _shards[index];
        shard.Loss = 0;
        shard.Backprop.ClearGradients();
        int from = batch.Start + batch.Count * index / _shards.Length;
        int to = batch.Start + batch.Count * (index + 1) / _shards.Length;
        int inputSize = _model.Shape.InputSize;
        for (int n = from; n < to;)
        {
            int length = batch[n].Inputs.Length;
            int streams = 1;
            while (streams < shard.Backprop.MaxStreams && n + streams < to && batch[n + streams].Inputs.Length == length)
            {
                streams++;
            }

            for (int s = 0; s < streams; s++)
            {
                shard.Randoms[s] = new DeterministicRandom(_options.Seed, RandomStreams.Dropout, (ulong)(batch.Step * _options.BatchSize + n + s - batch.Start));
            }

            RunGroup(shard, batch, n, streams, length / inputSize);
            n += streams;
        }

        if (batch.Training)
        {
            foreach (var (left, right) in _localNodes[index])
            {
                AddShards(left, right);
            }
        }
    }

    // Forward, loss and (in training) backward of a group of examples of one length, window by window. Each window's loss
    // is added to the shard's straight away, example by example: the order of the additions is part of the result.
    private void RunGroup(Shard shard, in BatchContext batch, int first, int streams, int steps)
    {
        var shape = _model.Shape;
        // Windows carry the state forward, so evaluation through them gives the same outputs as one pass (TrainingOptions
        // allows windows for unidirectional models only).
        int window = _options.TruncatedSteps is int k ? Math.Min(k, steps) : steps;
        var backprop = shard.Backprop;
        if (window > backprop.MaxSteps)
        {
            throw new InvalidOperationException("internal: shard buffers are shorter than the window");
        }

        ResetInitialState(backprop, streams);
        int gradientStride = backprop.MaxSteps * shape.OutputSize;
        for (int start = 0; start < steps; start += window)
        {
            int length = Math.Min(window, steps - start);
            for (int s = 0; s < streams; s++)
            {
                batch[first + s].Inputs.AsSpan(start * shape.InputSize, length * shape.InputSize).CopyTo(backprop.StreamInputs(s, length));
            }

            backprop.Forward(streams, length, batch.Training ? _options.Dropout : 0f, shard.Randoms);
            bool last = start + length == steps;
            if (_loss.Scores(last))
            {
                for (int s = 0; s < streams; s++)
                {
                    var outputs = backprop.StreamOutputs(s);
                    var gradient = shard.OutputGradient.AsSpan(s * gradientStride, outputs.Length);
                    gradient.Clear();
                    shard.Loss += _loss.Evaluate(outputs, batch[first + s].Targets, start, length, steps, gradient, batch.Count);
                }

                if (batch.Training)
                {
                    backprop.Backward(shard.OutputGradient, gradientStride, _loss.GradientIsPreActivation);
                }
            }

            if (!last)
            {
                CarryState(backprop, streams);
            }
        }
    }

    private void ResetInitialState(SequenceBackprop backprop, int streams)
    {
        var shape = _model.Shape;
        for (int s = 0; s < streams; s++)
        {
            for (int layer = 0; layer < shape.LayerCount; layer++)
            {
                for (int direction = 0; direction < shape.DirectionCount; direction++)
                {
                    backprop.InitialHidden(layer, direction, s).Clear();
                    backprop.InitialCell(layer, direction, s).Clear();
                }
            }
        }
    }

    // Truncated BPTT: the next window starts from this window's final state, without a gradient through it.
    private void CarryState(SequenceBackprop backprop, int streams)
    {
        var shape = _model.Shape;
        for (int s = 0; s < streams; s++)
        {
            for (int layer = 0; layer < shape.LayerCount; layer++)
            {
                backprop.FinalHidden(layer, 0, s).CopyTo(backprop.InitialHidden(layer, 0, s));
                if (_model.HasCellState)
                {
                    backprop.FinalCell(layer, 0, s).CopyTo(backprop.InitialCell(layer, 0, s));
                }
            }
        }
    }

    private sealed class Shard(SequenceBackprop backprop, int window, int outputs)
    {
        public SequenceBackprop Backprop { get; } = backprop;

        public float[] OutputGradient { get; } = new float[backprop.MaxStreams * window * outputs];

        public DeterministicRandom[] Randoms { get; } = new DeterministicRandom[backprop.MaxStreams];

        public double Loss { get; set; }
    }
}
