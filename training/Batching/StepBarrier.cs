namespace Embedded.Rnn.Training;

/// <summary>
/// A reusable barrier for a fixed number of threads that allocates nothing on the managed heap, ever. (Barrier's events
/// create their lock object the first time a thread actually blocks, which can happen at any step on a busy machine and
/// broke the trainer's allocation-free step.) Arrivals count up; the last one to arrive opens the next generation. A
/// waiting thread spins briefly, since shards of one step usually finish close together, then sleeps on a monitor.
/// </summary>
internal sealed class StepBarrier(int participants)
{
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
        while (_generation == generation && !spinner.NextSpinWillYield)
        {
            spinner.SpinOnce();
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
