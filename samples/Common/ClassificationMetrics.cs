using System.Globalization;
using System.Text;

namespace Embedded.Rnn.Samples;

/// <summary>Counts of (true class, predicted class) pairs: accuracy, per-class recall and a printable table.</summary>
public sealed class ConfusionMatrix
{
    private readonly int[,] _counts;

    /// <summary>An empty matrix over <paramref name="classes"/> classes (0 .. classes − 1).</summary>
    public ConfusionMatrix(int classes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        Classes = classes;
        _counts = new int[classes, classes];
    }

    /// <summary>Number of classes.</summary>
    public int Classes { get; }

    /// <summary>Examples counted.</summary>
    public int Total { get; private set; }

    /// <summary>Examples whose prediction equals their class.</summary>
    public int Correct { get; private set; }

    /// <summary>Correct / Total (NaN when empty).</summary>
    public double Accuracy => Total == 0 ? double.NaN : (double)Correct / Total;

    /// <summary>How many examples of class <paramref name="actual"/> were predicted as <paramref name="predicted"/>.</summary>
    public int this[int actual, int predicted] => _counts[actual, predicted];

    /// <summary>Counts one prediction.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A class is outside 0 .. Classes − 1.</exception>
    public void Add(int actual, int predicted)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(actual);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(actual, Classes);
        ArgumentOutOfRangeException.ThrowIfNegative(predicted);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(predicted, Classes);
        _counts[actual, predicted]++;
        Total++;
        if (actual == predicted)
        {
            Correct++;
        }
    }

    /// <summary>Fraction of class <paramref name="actual"/>'s examples predicted correctly (NaN if it has none).</summary>
    public double Recall(int actual)
    {
        int row = 0;
        for (int p = 0; p < Classes; p++)
        {
            row += _counts[actual, p];
        }

        return row == 0 ? double.NaN : (double)_counts[actual, actual] / row;
    }

    /// <summary>The matrix as text: one row per true class, one column per predicted class, recall at the end.</summary>
    public string ToText()
    {
        var text = new StringBuilder();
        text.Append("true\\pred");
        for (int p = 0; p < Classes; p++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{p,5}");
        }

        text.AppendLine("   recall");
        for (int a = 0; a < Classes; a++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{a,9}");
            for (int p = 0; p < Classes; p++)
            {
                text.Append(CultureInfo.InvariantCulture, $"{_counts[a, p],5}");
            }

            text.AppendLine(CultureInfo.InvariantCulture, $"   {Recall(a),6:P1}");
        }

        return text.ToString();
    }

    /// <summary>The index of the largest value (the first one on ties): the predicted class of a softmax output.</summary>
    public static int ArgMax(ReadOnlySpan<float> scores)
    {
        if (scores.IsEmpty)
        {
            throw new ArgumentException("no scores to choose from.", nameof(scores));
        }

        int best = 0;
        for (int i = 1; i < scores.Length; i++)
        {
            if (scores[i] > scores[best])
            {
                best = i;
            }
        }

        return best;
    }
}

/// <summary>Splitting a labelled data set so that every class keeps its share in each part.</summary>
public static class StratifiedSplit
{
    /// <summary>
    /// Splits example indices into train, validation and test parts, class by class: each class's examples are
    /// shuffled with <paramref name="seed"/> and the first round(n·testFraction) go to test, the next
    /// round(n·validationFraction) to validation, the rest to train. Each part is returned in ascending order.
    /// </summary>
    public static (int[] Train, int[] Validation, int[] Test) Split(IReadOnlyList<int> labels, double validationFraction, double testFraction, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (!(validationFraction >= 0 && testFraction >= 0 && validationFraction + testFraction < 1))
        {
            throw new ArgumentException("validation and test fractions must be >= 0 and add up to less than 1.");
        }

        var train = new List<int>();
        var validation = new List<int>();
        var test = new List<int>();
        foreach (var group in Enumerable.Range(0, labels.Count).GroupBy(i => labels[i]).OrderBy(g => g.Key))
        {
            var members = group.ToArray();
            var random = new Embedded.Rnn.Training.DeterministicRandom(seed, (ulong)group.Key);
            for (int i = members.Length - 1; i > 0; i--)
            {
                int j = random.NextInt(i + 1);
                (members[i], members[j]) = (members[j], members[i]);
            }

            int testCount = (int)Math.Round(members.Length * testFraction);
            int validationCount = (int)Math.Round(members.Length * validationFraction);
            test.AddRange(members.Take(testCount));
            validation.AddRange(members.Skip(testCount).Take(validationCount));
            train.AddRange(members.Skip(testCount + validationCount));
        }

        return ([.. train.Order()], [.. validation.Order()], [.. test.Order()]);
    }
}

/// <summary>
/// A cheap, honest baseline: each class is represented by the mean of its training feature vectors and an
/// example is given the class of the nearest mean (squared Euclidean distance; the first class on ties).
/// </summary>
public sealed class NearestCentroidClassifier
{
    private readonly float[][] _centroids;

    private NearestCentroidClassifier(float[][] centroids) => _centroids = centroids;

    /// <summary>Computes the class means from <paramref name="features"/> (all of one length) and their labels.</summary>
    /// <exception cref="ArgumentException">Lengths differ, or a class in 0 .. classes − 1 has no example.</exception>
    public static NearestCentroidClassifier Fit(IReadOnlyList<float[]> features, IReadOnlyList<int> labels, int classes)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        if (features.Count != labels.Count || features.Count == 0)
        {
            throw new ArgumentException("need as many labels as feature vectors, and at least one.");
        }

        int length = features[0].Length;
        var sums = new double[classes][];
        var counts = new int[classes];
        for (int c = 0; c < classes; c++)
        {
            sums[c] = new double[length];
        }

        for (int n = 0; n < features.Count; n++)
        {
            if (features[n].Length != length)
            {
                throw new ArgumentException($"feature vector {n} has {features[n].Length} values; the first has {length}.");
            }

            counts[labels[n]]++;
            for (int i = 0; i < length; i++)
            {
                sums[labels[n]][i] += features[n][i];
            }
        }

        var centroids = new float[classes][];
        for (int c = 0; c < classes; c++)
        {
            if (counts[c] == 0)
            {
                throw new ArgumentException($"class {c} has no training example.");
            }

            centroids[c] = sums[c].Select(s => (float)(s / counts[c])).ToArray();
        }

        return new NearestCentroidClassifier(centroids);
    }

    /// <summary>The class whose mean is nearest to <paramref name="features"/>.</summary>
    public int Predict(ReadOnlySpan<float> features)
    {
        int best = 0;
        double bestDistance = double.PositiveInfinity;
        for (int c = 0; c < _centroids.Length; c++)
        {
            double distance = 0;
            for (int i = 0; i < features.Length; i++)
            {
                double d = features[i] - _centroids[c][i];
                distance += d * d;
            }

            if (distance < bestDistance)
            {
                bestDistance = distance;
                best = c;
            }
        }

        return best;
    }
}
