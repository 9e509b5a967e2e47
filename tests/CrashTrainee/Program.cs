using Embedded.Rnn;
using Embedded.Rnn.Training;

// Usage: CrashTrainee <folder>
// Trains TraineeNet on fixed synthetic data, resuming from <folder>/trainee.ckpt when it exists, with a checkpoint
// after every optimizer step; at the end writes <folder>/trained.safetensors. Killing it at any moment and
// starting it again must end with exactly the weights of a run that was never killed.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: CrashTrainee <folder>");
    return 2;
}

Directory.CreateDirectory(args[0]);
var model = TraineeNet.FromParameters(RnnTrainer.InitialParameters(TraineeNet.Shape, TraineeNet.Parameters, seed: 11));
using var trainer = new RnnTrainer(model, CrashTraineeSetup.Options(args[0]));
var clock = System.Diagnostics.Stopwatch.StartNew();
trainer.Fit(CrashTraineeSetup.Examples(), resume: true);
trainer.ExportSafetensors(Path.Combine(args[0], CrashTraineeSetup.WeightsFile));
Console.WriteLine($"done after {trainer.Steps} steps ({clock.Elapsed.TotalSeconds:F1} s in Fit)");
return 0;

[RnnModel("Models/trainee.rnn.json")]
public partial class TraineeNet
{
}

/// <summary>The training run, fixed: the same data and options in every process.</summary>
public static class CrashTraineeSetup
{
    public const string CheckpointFile = "trainee.ckpt";
    public const string WeightsFile = "trained.safetensors";

    public static TrainingOptions Options(string folder) => new()
    {
        // Dropout, validation with early-stopping bookkeeping (best weights), AdamW moments and clipping: every piece
        // of state a resume has to restore. Two workers: results do not depend on the worker count.
        Epochs = 12,
        BatchSize = 8,
        LearningRate = 3e-3f,
        Optimizer = OptimizerKind.AdamW,
        WeightDecay = 1e-2f,
        ClipGradientNorm = 1f,
        Dropout = 0.2f,
        ValidationFraction = 0.2f,
        EarlyStoppingPatience = 100,
        Seed = 5,
        Workers = 2,
        CheckpointPath = Path.Combine(folder, CheckpointFile),
        CheckpointEvery = 1,
    };

    /// <summary>120 sequences of 30 steps: the target is a smoothed sum of the first feature.</summary>
    public static TrainingExample[] Examples()
    {
        var random = new Random(3); // System.Random with a seed is deterministic on one runtime
        return Enumerable.Range(0, 120).Select(_ =>
        {
            var inputs = Enumerable.Range(0, 30 * 3).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            float target = 0f;
            for (int t = 0; t < 30; t++)
            {
                target = 0.8f * target + 0.2f * inputs[t * 3];
            }

            return new TrainingExample(inputs, [target]);
        }).ToArray();
    }
}
