using Embedded.Rnn.Samples;
using Xunit;

namespace Embedded.Rnn.Tests.Samples;

/// <summary>The digits sample's confusion matrix, stratified split and nearest-mean baseline, on hand-counted data.</summary>
public sealed class ClassificationMetricsTests
{
    [Fact]
    public void Confusion_matrix_counts_pairs_and_derives_accuracy_and_recall()
    {
        var matrix = new ConfusionMatrix(3);
        (int Actual, int Predicted)[] pairs = [(0, 0), (0, 0), (0, 1), (1, 1), (2, 0), (2, 2), (2, 2), (2, 2)];
        foreach (var (actual, predicted) in pairs)
        {
            matrix.Add(actual, predicted);
        }

        Assert.Equal(8, matrix.Total);
        Assert.Equal(6, matrix.Correct); // (0,0)×2, (1,1), (2,2)×3
        Assert.Equal(6.0 / 8, matrix.Accuracy);
        Assert.Equal(2, matrix[0, 0]);
        Assert.Equal(1, matrix[0, 1]);
        Assert.Equal(1, matrix[2, 0]);
        Assert.Equal(0, matrix[1, 0]);
        Assert.Equal(2.0 / 3, matrix.Recall(0), 12);
        Assert.Equal(1.0, matrix.Recall(1));
        Assert.Equal(3.0 / 4, matrix.Recall(2));
        // Row of true class 2: its label, then 1 predicted as 0, none as 1, 3 as 2.
        var rows = matrix.ToText().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, rows.Length);
        Assert.Equal(["2", "1", "0", "3"], rows[3].Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(4));
        Assert.Throws<ArgumentOutOfRangeException>(() => matrix.Add(3, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => matrix.Add(0, -1));
        Assert.True(double.IsNaN(new ConfusionMatrix(2).Accuracy));
    }

    [Fact]
    public void ArgMax_takes_the_largest_and_the_first_on_ties()
    {
        Assert.Equal(2, ConfusionMatrix.ArgMax([0.1f, 0.2f, 0.6f, 0.1f]));
        Assert.Equal(1, ConfusionMatrix.ArgMax([0.1f, 0.4f, 0.4f, 0.1f]));
        Assert.Throws<ArgumentException>(() => ConfusionMatrix.ArgMax([]));
    }

    [Fact]
    public void Stratified_split_keeps_each_class_share_and_covers_every_example_once()
    {
        // Classes of 10, 20 and 30 examples, interleaved; 10 % validation and 20 % test per class.
        var labels = Enumerable.Range(0, 60).Select(i => i < 30 ? 2 : i % 3 == 0 ? 0 : 1).ToArray();
        int[] sizes = [labels.Count(l => l == 0), labels.Count(l => l == 1), labels.Count(l => l == 2)];
        Assert.Equal([10, 20, 30], sizes);
        var (train, validation, test) = StratifiedSplit.Split(labels, 0.1, 0.2, seed: 3);

        Assert.Equal(Enumerable.Range(0, 60), train.Concat(validation).Concat(test).Order());
        for (int c = 0; c < 3; c++)
        {
            Assert.Equal(sizes[c] / 5, test.Count(i => labels[i] == c));        // 20 %
            Assert.Equal(sizes[c] / 10, validation.Count(i => labels[i] == c)); // 10 %
        }

        Assert.Equal(test, StratifiedSplit.Split(labels, 0.1, 0.2, seed: 3).Test);
        Assert.NotEqual(test, StratifiedSplit.Split(labels, 0.1, 0.2, seed: 4).Test);
        Assert.Throws<ArgumentException>(() => StratifiedSplit.Split(labels, 0.5, 0.5, seed: 1));
    }

    [Fact]
    public void Nearest_centroid_uses_class_means()
    {
        // Class 0 around (0, 0) with mean (0, 1); class 1 mean (4, 1).
        float[][] features = [[0, 0], [0, 2], [3, 1], [5, 1]];
        var classifier = NearestCentroidClassifier.Fit(features, [0, 0, 1, 1], 2);
        Assert.Equal(0, classifier.Predict([1.9f, 1]));  // 1.9 from (0,1), 2.1 from (4,1)
        Assert.Equal(1, classifier.Predict([2.1f, 1]));
        Assert.Equal(0, classifier.Predict([2f, 1]));    // a tie goes to the first class
        Assert.Throws<ArgumentException>(() => NearestCentroidClassifier.Fit(features, [0, 0, 0, 0], 2));
    }
}
