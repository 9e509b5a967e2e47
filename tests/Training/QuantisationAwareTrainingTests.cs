using Embedded.Rnn.Tests.Models;
using Embedded.Rnn.Training;
using Xunit;
using Xunit.Abstractions;

namespace Embedded.Rnn.Tests.Training;

/// <summary>
/// TrainingOptions.FakeQuantization: the passes see rounded weights, the gradients update the float32 master weights
/// (straight-through), and the trained model is the int8 model that loads the exported master weights.
/// </summary>
public sealed class QuantisationAwareTrainingTests(ITestOutputHelper output)
{
    private static float[][] Rounded(IReadOnlyList<float[]> parameters, WeightStorage storage) =>
        parameters.Select((p, k) =>
        {
            var shape = GruTinyRegression.Parameters[k].Shape;
            return shape.Count == 2 ? QuantisedWeightsTests.Round(p, [.. shape], storage) : (float[])p.Clone();
        }).ToArray();

    [Theory]
    [InlineData(WeightStorage.Int8)]
    [InlineData(WeightStorage.BFloat16)]
    public void A_step_moves_the_master_weights_by_the_gradient_at_the_rounded_weights(WeightStorage storage)
    {
        var initial = RnnTrainer.InitialParameters(GruTinyRegression.Shape, GruTinyRegression.Parameters, seed: 3);
        var rounded = Rounded(initial, storage);
        var batch = TrainerTests.SineExamples(16, 4);
        var options = new TrainingOptions { BatchSize = 16, Optimizer = OptimizerKind.Sgd, Momentum = 0, Workers = 1 };

        // Plain training from the rounded weights computes the gradient at them; QAT from the master weights must too.
        using var plain = new RnnTrainer(GruTinyRegression.FromParameters(rounded, KernelPath.Scalar), options, rounded);
        using var aware = new RnnTrainer(GruTinyRegression.FromParameters(initial, KernelPath.Scalar), options with { FakeQuantization = storage }, initial);
        Assert.Equal(plain.Evaluate(batch), aware.Evaluate(batch)); // the same forward pass, bit for bit
        plain.TrainStep(batch, 0.1f);
        aware.TrainStep(batch, 0.1f);

        bool masterStaysUnrounded = false;
        for (int k = 0; k < initial.Length; k++)
        {
            for (int i = 0; i < initial[k].Length; i++)
            {
                float plainMove = plain.Parameters[k][i] - rounded[k][i];
                float awareMove = aware.Parameters[k][i] - initial[k][i];
                Assert.True(Math.Abs(plainMove - awareMove) <= 1e-6f + 1e-4f * Math.Abs(plainMove), $"{GruTinyRegression.Parameters[k].Name}[{i}]: moved {awareMove}, the gradient at the rounded weights says {plainMove}");
            }

            masterStaysUnrounded |= !Rounded(aware.Parameters, storage)[k].SequenceEqual(aware.Parameters[k]);
        }

        Assert.True(masterStaysUnrounded, "the master weights were rounded");
    }

    [Fact]
    public void The_trained_model_is_the_int8_model_of_the_exported_weights_and_recovers_the_rounding_gap()
    {
        var data = TrainerTests.SineExamples(300, 1);
        var test = TrainerTests.SineExamples(200, 9);
        var initial = RnnTrainer.InitialParameters(GruTinyRegression.Shape, GruTinyRegression.Parameters, seed: 5);
        var options = new TrainingOptions { Epochs = 60, BatchSize = 16, LearningRate = 0.01f, Schedule = LearningRateSchedule.Cosine, ValidationFraction = 0, Seed = 2 };

        var aware = GruTinyRegression.FromParameters(initial);
        using var awareTrainer = new RnnTrainer(aware, options with { FakeQuantization = WeightStorage.Int8 }, initial);
        awareTrainer.Fit(data);
        var deployed = GruTinyRegressionInt8.FromParameters(awareTrainer.Parameters);
        double awareError = MeanSquaredError(deployed, test);
        double trainerError = awareTrainer.Evaluate(test);
        Assert.True(Math.Abs(trainerError - awareError) <= 1e-4 * awareError, $"the trainer's model (MSE {trainerError:G6}) is not the deployed int8 model ({awareError:G6})");

        var plain = GruTinyRegression.FromParameters(initial);
        using var plainTrainer = new RnnTrainer(plain, options, initial);
        plainTrainer.Fit(data);
        double float32Error = MeanSquaredError(plain, test);
        double roundedError = MeanSquaredError(GruTinyRegressionInt8.FromParameters(plainTrainer.Parameters), test);
        output.WriteLine($"test MSE: float32 {float32Error:G4}, int8 after training {roundedError:G4}, int8 with QAT {awareError:G4}");
        // The bar: QAT recovers at least half of the gap that rounding after training opens.
        Assert.True(roundedError > float32Error, "rounding to int8 after training cost nothing here: the test shows nothing");
        Assert.True(awareError <= float32Error + (roundedError - float32Error) / 2, $"QAT int8 {awareError:G4} recovers less than half the gap between float32 {float32Error:G4} and rounding after training {roundedError:G4}");
    }

    private static double MeanSquaredError<TState>(IRnnModel<TState> model, List<TrainingExample> examples)
        where TState : struct, IRnnState
    {
        double sum = 0;
        var ys = new float[12];
        foreach (var example in examples)
        {
            var state = default(TState);
            model.Run(example.Inputs, ref state, ys);
            sum += Math.Pow(ys[^1] - example.Targets[0], 2);
        }

        return sum / examples.Count;
    }
}
