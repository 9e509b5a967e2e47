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
    public void One_two_and_three_workers_give_the_same_loss_and_gradients_bit_for_bit()
    {
        var examples = Batch(20);
        int[] order = Enumerable.Range(0, 20).Reverse().ToArray();
        var one = Run(1, training: true, examples, order);
        Assert.Contains(one.Gradients, g => g.Any(v => v != 0f));
        foreach (int workers in new[] { 2, 3 })
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
    /// The shards' gradient sum, piece by piece, against adding whole buffers one after another: the same bits at every
    /// length around the pieces' size (4,096 floats), including the ragged last piece.
    /// </summary>
    [Fact]
    public void The_shard_sum_adds_every_element_in_shard_order()
    {
        var random = new Random(4);
        foreach (int length in new[] { 0, 1, 15, 4095, 4096, 4097, 8192 + 33 })
        {
            var parts = Enumerable.Range(0, 8).Select(_ => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1) * 1e3f).ToArray()).ToArray();
            var expected = (float[])parts[0].Clone();
            for (int p = 1; p < parts.Length; p++)
            {
                for (int i = 0; i < length; i++)
                {
                    expected[i] += parts[p][i];
                }
            }

            var sum = Enumerable.Repeat(float.NaN, length).ToArray(); // whatever was there before is overwritten
            BatchRunner.SumInOrder(parts, sum);
            Assert.Equal(expected, sum);
        }
    }
}
