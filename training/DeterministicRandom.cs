namespace Embedded.Rnn.Training;

/// <summary>
/// SplitMix64 (Steele, Lea, Flood 2014): a tiny generator whose whole state is one ulong, so every random
/// choice in training is a pure function of (seed, purpose, counters) and a resumed run draws the same numbers.
/// </summary>
public struct DeterministicRandom
{
    private ulong _state;

    /// <summary>A generator for one purpose (e.g. shuffling epoch 3), derived from the run's seed.</summary>
    public DeterministicRandom(ulong seed, ulong stream = 0, ulong index = 0) =>
        _state = Mix(seed ^ Mix(stream + 0x9E3779B97F4A7C15UL) ^ Mix(index * 0xBF58476D1CE4E5B9UL + 1));

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public float NextSingle() => (NextUInt64() >> 40) * (1f / (1 << 24));

    /// <summary>Uniform integer in [0, n).</summary>
    public int NextInt(int n) => (int)((NextUInt64() >> 33) % (ulong)n);

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

/// <summary>
/// The streams of <see cref="DeterministicRandom"/> the trainer draws from, one per purpose, so that no two
/// purposes share numbers and each draw is a function of (seed, purpose, index) alone.
/// </summary>
internal static class RandomStreams
{
    /// <summary>Initial weights.</summary>
    public const ulong Initialisation = 0;

    /// <summary>Which examples are held out for validation.</summary>
    public const ulong ValidationSplit = 1;

    /// <summary>The order of the training set in an epoch (index: the epoch).</summary>
    public const ulong EpochShuffle = 2;

    /// <summary>Dropout masks of one example in one step (index: step × BatchSize + position in the batch).</summary>
    public const ulong Dropout = 3;
}
