using Embedded.Rnn.Tests.Models;
using Embedded.Rnn.Training;
using Xunit;

namespace Embedded.Rnn.Tests;

/// <summary>The batch runner: the same batch gives the same loss and gradients bit for bit on any number of workers.</summary>
public sealed class BatchRunnerTests
{
    private static List<TrainingExample> Batch(int count)
    {
        var random = new Random(8);
        return Enumerable.Range(0, count).Select(_ => TrainingExample.Classification(
            Enumerable.Range(0, (5 + random.Next(6)) * LstmTinyClassifier.InputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(),
            random.Next(3), 3)).ToList();
    }

    private static (double Loss, float[][] Gradients) Run(int workers, bool training, IReadOnlyList<TrainingExample> examples, int[] order)
    {
        var model = LstmTinyClassifier.FromParameters(RnnTrainer.InitialParameters(LstmTinyClassifier.Shape, LstmTinyClassifier.Parameters, seed: 6));
        var options = new TrainingOptions { BatchSize = 12, Workers = workers, Dropout = 0.3f, TruncatedSteps = 4, Loss = LossKind.CrossEntropy, Seed = 2 };
        var loss = new WindowLoss(Losses.For(options.Loss), options.Target, LstmTinyClassifier.OutputSize);
        using var runner = new BatchRunner(model, options, loss);
        runner.EnsureCapacity(BatchRunner.LongestSequence(examples, LstmTinyClassifier.InputSize));
        var gradients = LstmTinyClassifier.Parameters.Select(p => new float[p.ElementCount]).ToArray();
        double value = runner.Run(new BatchContext(examples, order, Start: 3, Count: 12, training, Step: 5));
        runner.SumGradients(gradients);
        return (value, gradients);
    }

    [Fact]
    public void Any_number_of_workers_gives_the_same_loss_and_gradients_bit_for_bit()
    {
        var examples = Batch(20);
        int[] order = Enumerable.Range(0, 20).Reverse().ToArray();
        var one = Run(1, training: true, examples, order);
        Assert.Contains(one.Gradients, g => g.Any(v => v != 0f));
        foreach (int workers in new[] { 2, 3, 5, 8 }) // 8 shards: even and uneven splits, and one shard each
        {
            var other = Run(workers, training: true, examples, order);
            Assert.Equal(BitConverter.DoubleToInt64Bits(one.Loss), BitConverter.DoubleToInt64Bits(other.Loss));
            for (int k = 0; k < one.Gradients.Length; k++)
            {
                Assert.Equal(one.Gradients[k], other.Gradients[k]);
            }
        }
    }

    [Fact]
    public void Evaluation_gives_the_loss_without_dropout_or_gradients_and_only_reads_the_batch()
    {
        var examples = Batch(20);
        int[] order = Enumerable.Range(0, 20).ToArray();
        var one = Run(1, training: false, examples, order);
        var two = Run(2, training: false, examples, order);
        Assert.Equal(one.Loss, two.Loss);
        Assert.All(one.Gradients, g => Assert.All(g, v => Assert.Equal(0f, v)));

        // Without dropout, evaluation's loss is the mean of the examples' losses, each on its own.
        var parameters = RnnTrainer.InitialParameters(LstmTinyClassifier.Shape, LstmTinyClassifier.Parameters, seed: 6);
        var model = LstmTinyClassifier.FromParameters(parameters);
        using var trainer = new RnnTrainer(model, new TrainingOptions { BatchSize = 12, TruncatedSteps = 4, Loss = LossKind.CrossEntropy, Seed = 2 }, parameters);
        double mean = examples.Skip(3).Take(12).Average(e => trainer.Evaluate([e]));
        Assert.Equal(mean, one.Loss, 12);
        Assert.NotEqual(one.Loss, Run(1, training: true, examples, order).Loss); // training draws dropout
    }

    /// <summary>
    /// The shards' gradients are added in a fixed pairwise tree, its nodes split between the workers (those within one
    /// worker's shards) and the caller (the rest). For every shard count and worker count, each shard is added once and the
    /// sum's order, written out as an expression, is the one-worker tree's.
    /// </summary>
    [Fact]
    public void The_gradient_tree_adds_every_shard_once_in_the_same_order_for_any_worker_count()
    {
        for (int shards = 1; shards <= BatchRunner.MaxShards; shards++)
        {
            string? expected = null;
            for (int workers = 1; workers <= shards; workers++)
            {
                var firstShardOfWorker = new int[shards];
                var sums = Enumerable.Range(0, shards).Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
                // The workers finish in any order (here the last one first), each running its shards in order.
                for (int w = workers - 1; w >= 0; w--)
                {
                    int first = ShardPool<int>.FirstShard(w, workers, shards);
                    for (int s = first; s < ShardPool<int>.FirstShard(w + 1, workers, shards); s++)
                    {
                        firstShardOfWorker[s] = first;
                        foreach (var (left, right) in BatchRunner.LocalNodes(s, firstShardOfWorker))
                        {
                            sums[left] = $"({sums[left]} + {sums[right]})";
                        }
                    }
                }

                var shared = BatchRunner.SharedNodes(firstShardOfWorker).ToList();
                Assert.True(workers > 1 || shared.Count == 0, "one worker adds every node itself");
                foreach (var (left, right) in shared)
                {
                    sums[left] = $"({sums[left]} + {sums[right]})";
                }

                for (int s = 0; s < shards; s++)
                {
                    Assert.Single(System.Text.RegularExpressions.Regex.Matches(sums[0], $@"\b{s}\b"));
                }

                expected ??= sums[0];
                Assert.Equal(expected, sums[0]);
            }
        }

        Assert.Equal("(((0 + 1) + (2 + 3)) + ((4 + 5) + (6 + 7)))", ExpressionOf(8));
        Assert.Equal("(((0 + 1) + (2 + 3)) + 4)", ExpressionOf(5));

        static string ExpressionOf(int shards)
        {
            var sums = Enumerable.Range(0, shards).Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            foreach (var (left, right) in BatchRunner.SharedNodes(Enumerable.Range(0, shards).ToArray())) // one worker per shard
            {
                sums[left] = $"({sums[left]} + {sums[right]})";
            }

            return sums[0];
        }
    }

    /// <summary>The batch's gradient is the mean of its examples' gradients, each run alone (in double, within float rounding).</summary>
    [Fact]
    public void The_summed_gradient_is_the_mean_of_the_examples_gradients()
    {
        var examples = Batch(12);
        int[] order = Enumerable.Range(0, 12).ToArray();
        var parameters = RnnTrainer.InitialParameters(LstmTinyClassifier.Shape, LstmTinyClassifier.Parameters, seed: 6);
        var options = new TrainingOptions { BatchSize = 12, Workers = 2, Loss = LossKind.CrossEntropy, Seed = 2 };
        float[][] GradientOf(int start, int count)
        {
            var model = LstmTinyClassifier.FromParameters(parameters);
            using var runner = new BatchRunner(model, options, new WindowLoss(Losses.For(options.Loss), options.Target, LstmTinyClassifier.OutputSize));
            runner.EnsureCapacity(BatchRunner.LongestSequence(examples, LstmTinyClassifier.InputSize));
            var gradients = LstmTinyClassifier.Parameters.Select(p => new float[p.ElementCount]).ToArray();
            runner.Run(new BatchContext(examples, order, start, count, Training: true, Step: 0));
            runner.SumGradients(gradients);
            return gradients;
        }

        var batch = GradientOf(0, 12);
        var alone = Enumerable.Range(0, 12).Select(n => GradientOf(n, 1)).ToArray(); // each example's loss not divided by 12
        for (int k = 0; k < batch.Length; k++)
        {
            for (int i = 0; i < batch[k].Length; i++)
            {
                double mean = alone.Sum(g => (double)g[k][i]) / 12;
                double scale = alone.Sum(g => Math.Abs((double)g[k][i])) / 12;
                Assert.True(Math.Abs(batch[k][i] - mean) <= 1e-5 * scale + 1e-12, $"tensor {k}[{i}]: {batch[k][i]} against {mean}");
            }
        }
    }
}
