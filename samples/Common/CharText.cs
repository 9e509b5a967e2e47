using Embedded.Rnn.Training;

namespace Embedded.Rnn.Samples;

/// <summary>The characters of a text, numbered in ordinal order: encoding, decoding and one-hot training chunks.</summary>
public sealed class CharVocabulary
{
    private readonly char[] _symbols;
    private readonly Dictionary<char, int> _indices;

    private CharVocabulary(char[] symbols)
    {
        _symbols = symbols;
        _indices = symbols.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
    }

    /// <summary>The distinct characters of <paramref name="text"/>, sorted by code point.</summary>
    public static CharVocabulary Of(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var symbols = text.Distinct().Order().ToArray();
        return symbols.Length >= 2 ? new CharVocabulary(symbols) : throw new ArgumentException("a vocabulary needs at least two distinct characters.", nameof(text));
    }

    /// <summary>Number of characters.</summary>
    public int Size => _symbols.Length;

    /// <summary>The character numbered <paramref name="index"/>.</summary>
    public char Symbol(int index) => _symbols[index];

    /// <summary>Each character's number.</summary>
    /// <exception cref="ArgumentException">A character is not in the vocabulary (its position is named).</exception>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var codes = new int[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            codes[i] = _indices.TryGetValue(text[i], out int code)
                ? code
                : throw new ArgumentException($"character U+{(int)text[i]:X4} at position {i} is not in the vocabulary.", nameof(text));
        }

        return codes;
    }

    /// <summary>The text of <paramref name="codes"/>.</summary>
    public string Decode(IEnumerable<int> codes) => new(codes.Select(Symbol).ToArray());

    /// <summary>
    /// Next-character training examples: consecutive, non-overlapping chunks of <paramref name="length"/> steps.
    /// Chunk k reads codes[kL .. kL+L−1] (one-hot, Size values per step) and its targets are the one-hot codes
    /// shifted by one, codes[kL+1 .. kL+L]; a tail too short for a whole chunk is left out.
    /// </summary>
    public TrainingExample[] NextCharacterChunks(int[] codes, int length)
    {
        ArgumentNullException.ThrowIfNull(codes);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        int chunks = (codes.Length - 1) / length;
        var examples = new TrainingExample[chunks];
        for (int k = 0; k < chunks; k++)
        {
            var inputs = new float[length * Size];
            var targets = new float[length * Size];
            for (int t = 0; t < length; t++)
            {
                inputs[t * Size + codes[k * length + t]] = 1f;
                targets[t * Size + codes[k * length + t + 1]] = 1f;
            }

            examples[k] = new TrainingExample(inputs, targets);
        }

        return examples;
    }
}

/// <summary>Bits per character and the n-gram baselines a character model must beat.</summary>
public static class BitsPerCharacter
{
    /// <summary>A mean cross-entropy in nats (natural log, as the trainer reports it) in bits: nats / ln 2.</summary>
    public static double FromNats(double nats) => nats / Math.Log(2);

    /// <summary>
    /// The unigram baseline: every character of <paramref name="evaluated"/> after the first is predicted with its
    /// frequency in <paramref name="training"/>, add-one smoothed over the vocabulary:
    /// p(c) = (count(c) + 1) / (N + V). Returns the mean of −log2 p.
    /// </summary>
    public static double Unigram(int[] training, int[] evaluated, int vocabularySize)
    {
        ArgumentNullException.ThrowIfNull(training);
        ArgumentNullException.ThrowIfNull(evaluated);
        var counts = new long[vocabularySize];
        foreach (int c in training)
        {
            counts[c]++;
        }

        double bits = 0;
        for (int i = 1; i < evaluated.Length; i++)
        {
            bits -= Math.Log2((counts[evaluated[i]] + 1.0) / (training.Length + vocabularySize));
        }

        return bits / (evaluated.Length - 1);
    }

    /// <summary>
    /// The bigram baseline: every character of <paramref name="evaluated"/> after the first is predicted from the one
    /// before it, add-one smoothed: p(c | b) = (count(b c) + 1) / (count(b ·) + V), counted over the pairs of
    /// <paramref name="training"/>. Returns the mean of −log2 p.
    /// </summary>
    public static double Bigram(int[] training, int[] evaluated, int vocabularySize)
    {
        ArgumentNullException.ThrowIfNull(training);
        ArgumentNullException.ThrowIfNull(evaluated);
        var pairs = new long[vocabularySize, vocabularySize];
        var before = new long[vocabularySize];
        for (int i = 1; i < training.Length; i++)
        {
            pairs[training[i - 1], training[i]]++;
            before[training[i - 1]]++;
        }

        double bits = 0;
        for (int i = 1; i < evaluated.Length; i++)
        {
            int b = evaluated[i - 1];
            bits -= Math.Log2((pairs[b, evaluated[i]] + 1.0) / (before[b] + vocabularySize));
        }

        return bits / (evaluated.Length - 1);
    }

    /// <summary>
    /// Draws an index from <paramref name="probabilities"/> sharpened by <paramref name="temperature"/>
    /// (weights p^(1/τ), renormalised): the first index whose cumulative weight exceeds u × total.
    /// </summary>
    /// <param name="probabilities">Non-negative weights (a softmax output).</param>
    /// <param name="temperature">τ > 0; 1 samples the model's distribution, smaller is greedier.</param>
    /// <param name="uniform">u in [0, 1).</param>
    public static int Sample(ReadOnlySpan<float> probabilities, double temperature, double uniform)
    {
        if (probabilities.IsEmpty || !(temperature > 0) || uniform is < 0 or >= 1)
        {
            throw new ArgumentException("need probabilities, temperature > 0 and u in [0, 1).");
        }

        double total = 0;
        foreach (float p in probabilities)
        {
            total += Math.Pow(Math.Max(p, 0f), 1 / temperature);
        }

        double threshold = uniform * total;
        double cumulative = 0;
        for (int i = 0; i < probabilities.Length; i++)
        {
            cumulative += Math.Pow(Math.Max(probabilities[i], 0f), 1 / temperature);
            if (cumulative > threshold)
            {
                return i;
            }
        }

        // Rounding can leave the threshold a hair above the last cumulative value: take the last non-zero weight.
        for (int i = probabilities.Length - 1; i > 0; i--)
        {
            if (probabilities[i] > 0)
            {
                return i;
            }
        }

        return 0;
    }
}
