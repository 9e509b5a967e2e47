namespace Embedded.Rnn.Training;

/// <summary>Processes one shard of the batch described by <paramref name="context"/>.</summary>
internal delegate void ShardWork<TContext>(int shard, in TContext context);

/// <summary>
/// Persistent worker threads that process a mini-batch's shards. The shards are split into W contiguous runs, worker w
/// taking the w-th (<see cref="FirstShard"/>), and callers reduce results in an order of their own that does not depend on
/// W, so neither does the outcome, nor on timing. Each run hands every
/// worker the run's context as an argument; it is published before the start barrier and not touched until
/// every worker has passed the end barrier. Allocation-free per run (<see cref="StepBarrier"/>, no tasks or closures;
/// the context is a struct).
/// </summary>
internal sealed class ShardPool<TContext> : IDisposable
{
    private readonly Thread[] _threads;
    private readonly StepBarrier _start;
    private readonly StepBarrier _done;
    private readonly ShardWork<TContext> _processShard;
    private readonly int _shards;
    private TContext _context = default!;
    private Exception? _failure;
    private volatile bool _stopping;

    public ShardPool(int workers, int shards, ShardWork<TContext> processShard)
    {
        _shards = shards;
        _processShard = processShard;
        int count = WorkerCount(workers, shards);
        _start = new StepBarrier(count);
        _done = new StepBarrier(count);
        _threads = new Thread[count - 1];
        for (int w = 1; w < count; w++)
        {
            int worker = w;
            _threads[w - 1] = new Thread(() => Loop(worker)) { IsBackground = true, Name = $"Embedded.Rnn trainer {worker}" };
            _threads[w - 1].Start();
        }
    }

    /// <summary>Threads that run the shards (the caller of <see cref="Run"/> is one of them).</summary>
    public static int WorkerCount(int workers, int shards) => Math.Max(1, Math.Min(workers, shards));

    /// <summary>The first of the contiguous shards worker <paramref name="worker"/> of <paramref name="workers"/> runs.</summary>
    public static int FirstShard(int worker, int workers, int shards) => worker * shards / workers;

    /// <summary>Runs every shard once on <paramref name="context"/>; rethrows the first failure.</summary>
    /// <exception cref="ObjectDisposedException">The pool was disposed (its workers have stopped).</exception>
    public void Run(in TContext context)
    {
        ObjectDisposedException.ThrowIf(_stopping, this);
        _context = context;
        _failure = null;
        _start.SignalAndWait();
        Work(0);
        _done.SignalAndWait();
        _context = default!; // do not keep the batch's examples alive between runs
        if (_failure is not null)
        {
            throw new AggregateException("A training worker failed.", _failure);
        }
    }

    public void Dispose()
    {
        // Once: the workers leave at the next start, and a second start would wait for them forever.
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        if (_threads.Length > 0)
        {
            _start.SignalAndWait();
            foreach (var t in _threads)
            {
                t.Join();
            }
        }
    }

    private void Loop(int worker)
    {
        while (true)
        {
            _start.SignalAndWait();
            if (_stopping)
            {
                return;
            }

            Work(worker);
            _done.SignalAndWait();
        }
    }

    private void Work(int worker)
    {
        var context = _context;
        try
        {
            int workers = _threads.Length + 1;
            for (int shard = FirstShard(worker, workers, _shards); shard < FirstShard(worker + 1, workers, _shards); shard++)
            {
                _processShard(shard, context);
            }
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _failure, e, null);
        }
    }
}
