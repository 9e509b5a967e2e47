namespace Embedded.Rnn.Training;

/// <summary>The seeded orders of a training set: the validation hold-out and each epoch's shuffle.</summary>
internal static class ExampleOrder
{
    /// <summary>
    /// The training and validation sets: <paramref name="validation"/> when given (or when the options'
    /// ValidationFraction is 0), otherwise <see cref="TrainingOptions.ValidationHoldOut"/> examples held out of
    /// <paramref name="training"/>, chosen by the seed.
    /// </summary>
    /// <exception cref="ArgumentException">The training set is empty.</exception>
    public static (IReadOnlyList<TrainingExample> Train, IReadOnlyList<TrainingExample> Validation) Split(
        IReadOnlyList<TrainingExample> training, IReadOnlyList<TrainingExample>? validation, TrainingOptions options)
    {
        if (training.Count == 0)
        {
            throw new ArgumentException("The training set is empty.", nameof(training));
        }

        if (validation is not null || options.ValidationFraction == 0f)
        {
            return (training, validation ?? []);
        }

        var order = Permutation(training.Count, new DeterministicRandom(options.Seed, RandomStreams.ValidationSplit));
        int held = options.ValidationHoldOut(training.Count);
        return (order.Skip(held).Select(i => training[i]).ToArray(), order.Take(held).Select(i => training[i]).ToArray());
    }

    /// <summary>The order of <paramref name="count"/> training examples in <paramref name="epoch"/>.</summary>
    public static int[] Shuffle(int count, ulong seed, int epoch) =>
        Permutation(count, new DeterministicRandom(seed, RandomStreams.EpochShuffle, (ulong)epoch));

    // Fisher–Yates.
    private static int[] Permutation(int count, DeterministicRandom random)
    {
        var order = Enumerable.Range(0, count).ToArray();
        for (int i = count - 1; i > 0; i--)
        {
            int j = random.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }
}
