using Embedded.Rnn.Safetensors;
using Embedded.Rnn.Tests.Models;
using Embedded.Rnn.Training;
using Xunit;

namespace Embedded.Rnn.Tests;

/// <summary>The checkpoint format: what it records, that older files still resume, and what it refuses.</summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ernn-checkpoint-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static List<TrainingExample> Examples()
    {
        var random = new Random(21);
        return Enumerable.Range(0, 40).Select(_ => new TrainingExample(
            Enumerable.Range(0, 12).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(), [(float)random.NextDouble()])).ToList();
    }

    private static GruTinyRegression Model() =>
        GruTinyRegression.FromParameters(RnnTrainer.InitialParameters(GruTinyRegression.Shape, GruTinyRegression.Parameters, seed: 4));

    private TrainingOptions Options(string file, int epochs) => new()
    {
        Epochs = epochs,
        BatchSize = 8,
        Optimizer = OptimizerKind.Adam,
        ValidationFraction = 0.25f,
        EarlyStoppingPatience = 50,
        CheckpointPath = Path.Combine(_directory, file),
        Seed = 3,
    };

    [Fact]
    public void A_checkpoint_records_the_run_position_the_step_the_parameters_the_optimizer_and_the_best_weights()
    {
        using var trainer = new RnnTrainer(Model(), Options("run.ckpt", 2));
        trainer.Fit(Examples());
        var file = SafetensorsFile.Read(Path.Combine(_directory, "run.ckpt"));
        Assert.Equal("embedded-rnn-checkpoint", file.Metadata["format"]);
        Assert.Equal("2", file.Metadata["epoch"]);
        Assert.Equal("0", file.Metadata["batch"]);
        Assert.Equal(trainer.Steps.ToString(System.Globalization.CultureInfo.InvariantCulture), file.Metadata["step"]);
        Assert.Equal(file.Metadata["step"], file.Metadata["optimizer_steps"]);
        Assert.Equal("3", file.Metadata["seed"]);
        Assert.Equal("Adam", file.Metadata["optimizer"]);
        var names = GruTinyRegression.Parameters.Select(p => p.Name).ToList();
        Assert.Equal(
            names.Concat(names.SelectMany(n => new[] { "optimizer.first." + n, "optimizer.second." + n })).Concat(names.Select(n => "best." + n)),
            file.Tensors.Select(t => t.Name));
        for (int k = 0; k < names.Count; k++)
        {
            Assert.Equal(trainer.Parameters[k], file.ReadAsSingle(names[k]));
        }
    }

    [Fact]
    public void A_checkpoint_in_the_earlier_interleaved_layout_resumes_to_the_same_weights()
    {
        using (var trainer = new RnnTrainer(Model(), Options("current.ckpt", 2)))
        {
            trainer.Fit(Examples());
        }

        // Until the optimizers wrote their own entries, a checkpoint held, per parameter: the tensor, its two
        // optimizer entries and its best weights.
        var current = SafetensorsFile.Read(Path.Combine(_directory, "current.ckpt"));
        var earlier = new SafetensorsWriter();
        foreach (var (key, value) in current.Metadata)
        {
            earlier.AddMetadata(key, value);
        }

        foreach (var spec in GruTinyRegression.Parameters)
        {
            foreach (string name in new[] { spec.Name, "optimizer.first." + spec.Name, "optimizer.second." + spec.Name, "best." + spec.Name })
            {
                earlier.Add(name, current.ReadAsSingle(name), spec.Shape.Select(d => (long)d).ToArray());
            }
        }

        earlier.Save(Path.Combine(_directory, "earlier.ckpt"));
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(_directory, "current.ckpt")), File.ReadAllBytes(Path.Combine(_directory, "earlier.ckpt")));

        float[][] Resume(string file)
        {
            using var trainer = new RnnTrainer(Model(), Options(file, 4));
            trainer.Fit(Examples(), resume: true);
            return trainer.Parameters.Select(p => (float[])p.Clone()).ToArray();
        }

        Assert.Equal(Resume("current.ckpt"), Resume("earlier.ckpt"));
    }

    [Fact]
    public void A_checkpoint_of_another_seed_or_a_file_that_is_not_a_checkpoint_is_refused()
    {
        using (var trainer = new RnnTrainer(Model(), Options("run.ckpt", 1)))
        {
            trainer.Fit(Examples());
        }

        using var otherSeed = new RnnTrainer(Model(), Options("run.ckpt", 2) with { Seed = 4 });
        Assert.Contains("with seed 3, not this model and seed", Assert.Throws<ArgumentException>(() => otherSeed.Fit(Examples(), resume: true)).Message);

        string weights = Path.Combine(_directory, "weights.safetensors");
        otherSeed.ExportSafetensors(weights);
        using var fromWeights = new RnnTrainer(Model(), Options("weights.safetensors", 2));
        Assert.Contains("is not a training checkpoint", Assert.Throws<SafetensorsException>(() => fromWeights.Fit(Examples(), resume: true)).Message);
    }

    [Fact]
    public void A_checkpoint_resumes_only_an_optimizer_that_keeps_the_same_state()
    {
        using (var trainer = new RnnTrainer(Model(), Options("adam.ckpt", 1)))
        {
            trainer.Fit(Examples());
        }

        // SGD's momentum would otherwise read Adam's first moments, which share its entry names.
        using var sgd = new RnnTrainer(Model(), Options("adam.ckpt", 2) with { Optimizer = OptimizerKind.Sgd, Momentum = 0.9f });
        Assert.Contains("holds the state of the Adam optimizer, not Sgd", Assert.Throws<ArgumentException>(() => sgd.Fit(Examples(), resume: true)).Message);

        // AdamW keeps the same moments; plain SGD keeps none: both may follow.
        using var adamW = new RnnTrainer(Model(), Options("adam.ckpt", 2) with { Optimizer = OptimizerKind.AdamW });
        adamW.Fit(Examples(), resume: true);
    }
}
