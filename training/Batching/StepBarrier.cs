using System.Diagnostics;

namespace Embedded.Rnn.Training;

/// <summary>
/// A reusable barrier for a fixed number of threads that allocates nothing on the managed heap, ever. (Barrier's events
/// create their lock object the first time a thread actually blocks, which can happen at any step on a busy machine and
/// broke the trainer's allocation-free step.) Arrivals count up; the last one to arrive opens the next generation. A
/// waiting thread spins for up to <see cref="SpinLimit"/> when every participant has a core of its own, then sleeps on a
/// monitor.
/// </summary>
internal sealed class StepBarrier(int participants)
{
    /// <summary>
    /// How long a waiting thread spins before it sleeps. A training step's serial part and its shards' uneven ends are
    /// tens to hundreds of microseconds; a thread that slept through them took a wake-up to start the next run, which left a
    /// worker idle for 10–30 % of the shards' time on a 2-core guest (timestamps per shard, a throwaway build).
    /// </summary>
    public static readonly TimeSpan SpinLimit = TimeSpan.FromMilliseconds(1);

    private static readonly long SpinTicks = (long)(SpinLimit.TotalSeconds * Stopwatch.Frequency);

    // With more participants than cores a spinning thread would hold a core another participant needs to arrive.
    private readonly bool _spins = participants <= Environment.ProcessorCount;

    private readonly object _gate = new();
    private int _arrived;
    private volatile int _generation;

    /// <summary>Signals that this thread has arrived and waits until every participant has.</summary>
    public void SignalAndWait()
    {
        int generation = _generation;
        if (Interlocked.Increment(ref _arrived) == participants)
        {
            // Reset before opening: a released thread may arrive at the next generation at once.
            _arrived = 0;
            lock (_gate)
            {
                _generation = generation + 1;
                Monitor.PulseAll(_gate);
            }

            return;
        }

        var spinner = default(SpinWait);
        long spinUntil = _spins ? Stopwatch.GetTimestamp() + SpinTicks : 0;
        while (_generation == generation && (!spinner.NextSpinWillYield || Stopwatch.GetTimestamp() < spinUntil))
        {
            spinner.SpinOnce(sleep1Threshold: -1); // past its first spins it yields, never sleeps a millisecond
        }

        lock (_gate)
        {
            while (_generation == generation)
            {
                Monitor.Wait(_gate);
            }
        }
    }
}
