using Embedded.Rnn.Training;
using Xunit;

namespace Embedded.Rnn.Tests;

/// <summary>Each loss's value and gradient against a hand derivation, and the window logic that applies them.</summary>
public sealed class LossTests
{
    [Fact]
    public void Mean_squared_error_is_the_mean_over_outputs_with_gradient_2d_over_n_scaled_by_batch_and_steps()
    {
        // d = y − t = (−0.5, −1, 0): L = (0.25 + 1 + 0) / 3, returned divided by steps = 2: 1.25 / 6.
        // dL/dy = 2d / 3, divided by batch × steps = 4 × 2: d / 12.
        var gradient = new float[3];
        double loss = new MeanSquaredError().Evaluate([0.5f, -1f, 2f], [1f, 0f, 2f], gradient, steps: 2, batch: 4);
        Assert.Equal(1.25 / 6, loss, 15);
        Assert.Equal([-0.5f / 12, -1f / 12, 0f], gradient, new ToleranceComparer(1e-8f));
        Assert.False(new MeanSquaredError().GradientIsPreActivation);
    }

    [Fact]
    public void Mean_squared_error_matches_its_formula_at_every_length()
    {
        var random = new Random(5);
        for (int length = 1; length <= 9; length++)
        {
            var y = Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
            var t = Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
            var gradient = new float[length];
            double loss = new MeanSquaredError().Evaluate(y, t, gradient, steps: 3, batch: 5);
            // The difference in float (as the float32 loss takes it), the rest in double.
            double expected = y.Zip(t, (a, b) => (double)(a - b) * (a - b)).Sum() / length / 3;
            Assert.Equal(expected, loss, 1e-14 * expected); // two running sums: a few roundings of the order
            for (int i = 0; i < length; i++)
            {
                double d = y[i] - t[i];
                Assert.Equal(2 * d / length / 15, gradient[i], 1e-7 * Math.Abs(2 * d / length / 15));
            }
        }
    }

    [Fact]
    public void Cross_entropy_is_minus_log_of_the_target_class_with_gradient_y_minus_t_before_the_softmax()
    {
        // t = class 1: L = −log 0.2; dL/dz = y − t = (0.7, −0.8, 0.1), divided by batch × steps = 2 × 1.
        var gradient = new float[3];
        double loss = new CrossEntropy().Evaluate([0.7f, 0.2f, 0.1f], [0f, 1f, 0f], gradient, steps: 1, batch: 2);
        Assert.Equal(-Math.Log(0.2f), loss, 12);
        Assert.Equal([0.35f, -0.4f, 0.05f], gradient, new ToleranceComparer(1e-7f));
        Assert.True(new CrossEntropy().GradientIsPreActivation);
    }

    [Fact]
    public void Cross_entropy_gradient_is_the_derivative_through_the_softmax()
    {
        // L(z) = −Σ t log softmax(z), differentiated numerically in double, against the loss's y − t.
        double[] z = [0.3, -1.2, 0.8, 0.1];
        float[] t = [0.1f, 0.6f, 0.3f, 0f];
        static double[] Softmax(double[] v)
        {
            var e = v.Select(x => Math.Exp(x - v.Max())).ToArray();
            return e.Select(x => x / e.Sum()).ToArray();
        }

        double Loss(double[] v) => -Softmax(v).Select((y, i) => t[i] * Math.Log(y)).Sum();
        var gradient = new float[4];
        new CrossEntropy().Evaluate(Softmax(z).Select(v => (float)v).ToArray(), t, gradient, steps: 1, batch: 1);
        for (int i = 0; i < z.Length; i++)
        {
            const double h = 1e-6;
            var up = (double[])z.Clone();
            var down = (double[])z.Clone();
            up[i] += h;
            down[i] -= h;
            Assert.Equal((Loss(up) - Loss(down)) / (2 * h), gradient[i], 6);
        }
    }

    [Fact]
    public void Cross_entropy_of_a_saturated_softmax_is_large_but_finite()
    {
        var gradient = new float[2];
        double loss = new CrossEntropy().Evaluate([0f, 1f], [1f, 0f], gradient, steps: 1, batch: 1);
        Assert.Equal(-Math.Log(1e-30), loss, 9);
        Assert.Equal([-1f, 1f], gradient);
    }

    [Fact]
    public void Sequence_to_one_scores_only_the_last_step_of_the_last_window()
    {
        var loss = new WindowLoss(new MeanSquaredError(), TargetKind.SequenceToOne, outputSize: 2);
        Assert.False(loss.Scores(lastWindow: false));
        Assert.True(loss.Scores(lastWindow: true));
        float[] outputs = [9f, 9f, 9f, 9f, 1f, 3f]; // 3 steps × 2 outputs; only the last step has a target
        var gradient = Enumerable.Repeat(float.NaN, 6).ToArray();
        double value = loss.Evaluate(outputs, [0f, 1f], start: 4, length: 3, steps: 7, gradient, batch: 1);
        Assert.Equal((1.0 + 4.0) / 2, value, 15); // steps do not divide: one target per example
        Assert.Equal([float.NaN, float.NaN, float.NaN, float.NaN, 1f, 2f], gradient);
    }

    [Fact]
    public void Sequence_to_sequence_scores_every_step_of_a_window_against_its_own_targets_weighted_one_over_T()
    {
        var loss = new WindowLoss(new MeanSquaredError(), TargetKind.SequenceToSequence, outputSize: 1);
        Assert.True(loss.Scores(lastWindow: false));
        // A window of steps 2..3 of a 4-step sequence: targets 2 and 3 apply; each step's loss is divided by T = 4.
        float[] targets = [7f, 7f, 1f, -1f];
        var gradient = new float[2];
        double value = loss.Evaluate([2f, 1f], targets, start: 2, length: 2, steps: 4, gradient, batch: 2);
        Assert.Equal((1.0 + 4.0) / 4, value, 15);
        Assert.Equal([2f * 1 / 8, 2f * 2 / 8], gradient); // 2d over batch × steps = 8
    }

    [Fact]
    public void Every_loss_kind_maps_to_its_loss_and_an_unknown_kind_throws()
    {
        Assert.IsType<MeanSquaredError>(Losses.For(LossKind.MeanSquaredError));
        Assert.IsType<CrossEntropy>(Losses.For(LossKind.CrossEntropy));
        Assert.All(Enum.GetValues<LossKind>(), kind => Assert.NotNull(Losses.For(kind)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Losses.For((LossKind)99));
        var model = Models.GruTinyRegression.FromParameters(RnnTrainer.InitialParameters(Models.GruTinyRegression.Shape, Models.GruTinyRegression.Parameters));
        Assert.Contains("Loss 99", Assert.Throws<ArgumentException>(() => new RnnTrainer(model, new TrainingOptions { Loss = (LossKind)99 })).Message);
        Assert.Contains("Target 7", Assert.Throws<ArgumentException>(() => new RnnTrainer(model, new TrainingOptions { Target = (TargetKind)7 })).Message);
    }

    private sealed class ToleranceComparer(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(float obj) => 0;
    }
}
