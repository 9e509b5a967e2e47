namespace Embedded.Rnn.Tests.Support;

/// <summary>What a piece of code allocates on the calling thread once it has settled.</summary>
public static class Allocations
{
    /// <summary>
    /// Bytes this thread allocated in one run of <paramref name="round"/>, run until a round allocates nothing (at most
    /// <paramref name="rounds"/> times): 0, or what the last round allocated. The JIT may allocate runtime type data on
    /// the calling thread while it compiles code this thread is running (on-stack replacement), which on a loaded machine
    /// can come after any fixed warm-up; an allocation in the code itself recurs in every round and is still caught.
    /// </summary>
    public static long Settled(Action round, int rounds = 5)
    {
        long allocated = 0;
        for (int i = 0; i < rounds; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            round();
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allocated == 0)
            {
                break;
            }
        }

        return allocated;
    }
}
