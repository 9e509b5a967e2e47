using Embedded.Rnn.Samples;
using Xunit;

namespace Embedded.Rnn.Tests.Samples;

/// <summary>The vanishing-gradient sample's task: its examples are what the docs say, and its baselines are right.</summary>
public sealed class AddingProblemTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(11)]
    [InlineData(200)]
    public void Each_example_marks_one_step_per_half_and_targets_their_sum(int steps)
    {
        var examples = AddingProblem.Generate(steps, 300, seed: 5);
        Assert.Equal(300, examples.Length);
        foreach (var example in examples)
        {
            Assert.Equal(steps * 2, example.Inputs.Length);
            var marked = Enumerable.Range(0, steps).Where(t => example.Inputs[2 * t + 1] != 0).ToArray();
            Assert.Equal(2, marked.Length);
            Assert.All(marked, t => Assert.Equal(1f, example.Inputs[2 * t + 1]));
            Assert.InRange(marked[0], 0, steps / 2 - 1);
            Assert.InRange(marked[1], steps / 2, steps - 1);
            Assert.All(Enumerable.Range(0, steps), t => Assert.InRange(example.Inputs[2 * t], 0f, 0.99999994f));
            Assert.Equal(example.Inputs[2 * marked[0]] + example.Inputs[2 * marked[1]], Assert.Single(example.Targets));
        }

        Assert.Equal(examples[7].Inputs, AddingProblem.Generate(steps, 300, seed: 5)[7].Inputs);
        Assert.NotEqual(examples[7].Inputs, AddingProblem.Generate(steps, 300, seed: 6)[7].Inputs);
    }

    [Fact]
    public void Baseline_errors_match_their_derivation()
    {
        // Derivation: the target S = U1 + U2 has mean 1 and variance 2/12, so predicting 1 has MSE 1/6; knowing U2 and
        // predicting U2 + 1/2 leaves U1 − 1/2, variance 1/12. Checked on 20,000 sequences: the squared errors have
        // standard deviations √(1/15 − 1/36) = 0.197 and √(1/80 − 1/144) = 0.075, so 4 standard errors are 0.0056 and 0.0021.
        Assert.Equal(1.0 / 6, AddingProblem.TrivialMse, 15);
        Assert.Equal(1.0 / 12, AddingProblem.OneValueMse, 15);
        Assert.Equal(1.0 / 24, AddingProblem.LearnedMse, 15);
        var examples = AddingProblem.Generate(20, 20_000, seed: 9);
        double trivial = examples.Average(e => Math.Pow(e.Targets[0] - 1.0, 2));
        double oneValue = examples.Average(e =>
        {
            int second = Enumerable.Range(10, 10).Single(t => e.Inputs[2 * t + 1] != 0);
            return Math.Pow(e.Targets[0] - (e.Inputs[2 * second] + 0.5), 2);
        });
        Assert.Equal(AddingProblem.TrivialMse, trivial, 0.0056);
        Assert.Equal(AddingProblem.OneValueMse, oneValue, 0.0021);
    }
}
