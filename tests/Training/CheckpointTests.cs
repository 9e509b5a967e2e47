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
        // optimizer entries and its best weights; and its metadata did not yet describe the model or the batching.
        var current = SafetensorsFile.Read(Path.Combine(_directory, "current.ckpt"));
        var earlier = new SafetensorsWriter();
        foreach (var (key, value) in current.Metadata.Where(m => m.Key is not ("model" or "batch_size" or "examples")))
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

    [Fact]
    public void A_checkpoint_of_a_model_with_the_same_sizes_but_without_bias_is_refused()
    {
        using (var trainer = new RnnTrainer(Model(), Options("bias.ckpt", 1)))
        {
            trainer.Fit(Examples());
        }

        var noBias = GruTinyRegressionNoBias.FromParameters(RnnTrainer.InitialParameters(GruTinyRegressionNoBias.Shape, GruTinyRegressionNoBias.Parameters, seed: 4));
        Assert.Equal(GruTinyRegression.Shape, GruTinyRegressionNoBias.Shape);
        using var other = new RnnTrainer(noBias, Options("bias.ckpt", 2));
        var e = Assert.Throws<ArgumentException>(() => other.Fit(Examples(), resume: true));
        Assert.Contains("was written for another model with the same sizes", e.Message);
        Assert.Contains("bias_ih_l0[24]", e.Message); // the written model's description names its bias
        Assert.Equal(0, other.Steps);
    }

    [Fact]
    public void Resuming_within_an_epoch_needs_the_same_batch_size_and_training_set()
    {
        // Stopped before the last of epoch 1's 4 batches (30 training examples in batches of 8; 10 for validation).
        var training = Examples().Take(30).ToList();
        var validation = Examples().Skip(30).ToList();
        using (var cancellation = new CancellationTokenSource())
        using (var trainer = new RnnTrainer(Model(), Options("stopped.ckpt", 2)))
        {
            var data = new CancelAtStep(training, () => trainer.Steps, at: 3, cancellation);
            Assert.Throws<OperationCanceledException>(() => trainer.Fit(data, validation, cancellationToken: cancellation.Token));
            Assert.Equal(3, trainer.Steps);
        }

        var file = SafetensorsFile.Read(Path.Combine(_directory, "stopped.ckpt"));
        Assert.Equal(("0", "3", "8", "30"), (file.Metadata["epoch"], file.Metadata["batch"], file.Metadata["batch_size"], file.Metadata["examples"]));
        byte[] stopped = File.ReadAllBytes(Path.Combine(_directory, "stopped.ckpt"));

        using (var otherBatches = new RnnTrainer(Model(), Options("stopped.ckpt", 2) with { BatchSize = 16 }))
        {
            var e = Assert.Throws<ArgumentException>(() => otherBatches.Fit(training, validation, resume: true));
            Assert.Contains("stopped after batch 3 of epoch 1, in batches of 8 from 30 training examples; this run has batches of 16 from 30", e.Message);
        }

        using (var otherSet = new RnnTrainer(Model(), Options("stopped.ckpt", 2)))
        {
            var e = Assert.Throws<ArgumentException>(() => otherSet.Fit(training.Take(27).ToList(), validation, resume: true));
            Assert.Contains("in batches of 8 from 30 training examples; this run has batches of 8 from 27", e.Message);
        }

        Assert.Equal(stopped, File.ReadAllBytes(Path.Combine(_directory, "stopped.ckpt"))); // refused before anything was trained or saved
        using var same = new RnnTrainer(Model(), Options("stopped.ckpt", 2));
        Assert.Equal(2, same.Fit(training, validation, resume: true).Epochs.Count);
    }

    [Fact]
    public void A_checkpoint_due_after_an_epochs_last_batch_comes_after_its_report_and_one_from_before_reports_nothing_twice()
    {
        // Step 4 ends epoch 0 (30 training examples in batches of 8): its checkpoint waits for the epoch's validation and
        // report, so a crash during step 5 resumes at epoch 1 and reports epoch 0 once. It used to hold (epoch 0, batch
        // 4), and the resumed run reported epoch 0 again, with a NaN training loss.
        var training = Examples().Take(30).ToList();
        var validation = Examples().Skip(30).ToList();
        TrainingOptions Options(string file) => this.Options(file, 2) with { CheckpointEvery = 4, EarlyStoppingPatience = null, LogPath = Path.Combine(_directory, file + ".csv") };
        using (var trainer = new RnnTrainer(Model(), Options("end.ckpt")))
        {
            var data = new CancelAtStep(training, () => trainer.Steps, at: 5, cancellation: null);
            Assert.Throws<IOException>(() => trainer.Fit(data, validation));
        }

        var metadata = SafetensorsFile.Read(Path.Combine(_directory, "end.ckpt")).Metadata;
        Assert.Equal(("1", "0", "0"), (metadata["epoch"], metadata["batch"], metadata["epoch_loss"]));
        using (var resumed = new RnnTrainer(Model(), Options("end.ckpt")))
        {
            var reports = resumed.Fit(training, validation, resume: true).Epochs;
            Assert.Equal(1, Assert.Single(reports).Epoch);
            Assert.True(reports[0].TrainingLoss > 0);
        }

        Assert.Equal(["epoch", "0", "1"], File.ReadAllLines(Path.Combine(_directory, "end.ckpt.csv")).Select(line => line.Split(',')[0]));

        // The same checkpoint as an earlier version wrote it, at (epoch 0, batch 4) with no loss sum, beside a log that
        // has epoch 0's line (its run reported it) and a line of epoch 1 from an attempt after the checkpoint: epoch 0
        // is validated again (early stopping's bookkeeping) but not reported, and epoch 1's line is replaced.
        SaveChanged("end.ckpt", "old.ckpt", metadata: (key, value) => key switch { "epoch" => "0", "batch" => "4", "epoch_loss" => null, _ => value });
        File.WriteAllLines(Path.Combine(_directory, "old.ckpt.csv"), [EpochCsvHeader, "0,0.5,0.5,0.001,1.0,1.000", "1,0.25,0.25,0.001,1.0,2.000"]);
        using (var resumed = new RnnTrainer(Model(), Options("old.ckpt")))
        {
            var reports = resumed.Fit(training, validation, resume: true).Epochs;
            Assert.Equal(1, Assert.Single(reports).Epoch);
            var log = File.ReadAllLines(Path.Combine(_directory, "old.ckpt.csv"));
            Assert.Equal([EpochCsvHeader, "0,0.5,0.5,0.001,1.0,1.000"], log.Take(2));
            Assert.StartsWith("1," + reports[0].TrainingLoss.ToString("R", System.Globalization.CultureInfo.InvariantCulture) + ",", Assert.Single(log.Skip(2)));
        }
    }

    private const string EpochCsvHeader = "epoch,training_loss,validation_loss,learning_rate,steps_per_second,elapsed_seconds";

    [Fact]
    public void A_checkpoint_holding_a_non_finite_weight_is_refused_naming_the_tensor()
    {
        using (var trainer = new RnnTrainer(Model(), Options("good.ckpt", 1)))
        {
            trainer.Fit(Examples());
        }

        SaveChanged("good.ckpt", "damaged.ckpt", tensor: (name, values) =>
        {
            if (name == "bias_hh_l0")
            {
                values[5] = float.PositiveInfinity;
            }

            return values;
        });
        using var resumed = new RnnTrainer(Model(), Options("damaged.ckpt", 2));
        var e = Assert.Throws<SafetensorsException>(() => resumed.Fit(Examples(), resume: true));
        Assert.Contains("holds Infinity in 'bias_hh_l0' at index 5", e.Message);
    }

    [Fact]
    public void A_checkpoint_whose_position_is_not_made_of_counts_is_refused_naming_the_key()
    {
        using (var trainer = new RnnTrainer(Model(), Options("counted.ckpt", 1)))
        {
            trainer.Fit(Examples());
        }

        foreach (var (key, value) in new[] { ("epoch", "x"), ("batch", "-1"), ("step", "1e3"), ("best_validation", "low"), ("optimizer_steps", "many") })
        {
            SaveChanged("counted.ckpt", "damaged.ckpt", metadata: (name, text) => name == key ? value : text);
            using var resumed = new RnnTrainer(Model(), Options("damaged.ckpt", 2));
            var e = Assert.Throws<SafetensorsException>(() => resumed.Fit(Examples(), resume: true)); // was a FormatException
            Assert.Contains($"'{key}' = '{value}', which is not a", e.Message);
        }
    }

    [Fact]
    public void A_refused_checkpoint_names_what_is_wrong_and_leaves_the_trainer_as_it_was()
    {
        using (var trainer = new RnnTrainer(Model(), Options("good.ckpt", 1)))
        {
            trainer.Fit(Examples());
        }

        string last = GruTinyRegression.Parameters[^1].Name, damaged = Path.Combine(_directory, "damaged.ckpt");
        int bias = GruTinyRegression.Parameters.Single(p => p.Name == "bias_hh_l0").ElementCount;
        float[] Shorter(float[] values) => values[..^1];
        foreach (var (change, message) in new (Func<string, float[], float[]?>?, string)[]
        {
            // A shorter tensor used to be copied over the start of its parameter, the rest kept from before.
            ((name, values) => name == "bias_hh_l0" ? Shorter(values) : values, $"checkpoint '{damaged}' has 'bias_hh_l0' of shape [{bias - 1}]; this model's 'bias_hh_l0' is [{bias}]."),
            ((name, values) => name == "best." + last ? Shorter(values) : values, $"has 'best.{last}' of shape"),
            // The optimizer's state is read after the weights: these used to leave the weights (and the step count) loaded.
            ((name, values) => name == "optimizer.second." + last ? Shorter(values) : values, $"the checkpoint has 'optimizer.second.{last}' of shape"),
            ((name, values) => name == "optimizer.second." + last ? null : values, $"the checkpoint lacks the tensor 'optimizer.second.{last}'."),
            (null, $"checkpoint '{damaged}': "), // not safetensors at all: the parser's message did not say which file it read
        })
        {
            if (change is null)
            {
                File.WriteAllText(damaged, "not a checkpoint");
            }
            else
            {
                SaveChanged("good.ckpt", "damaged.ckpt", tensor: change);
            }

            using var resumed = new RnnTrainer(Model(), Options("damaged.ckpt", 2));
            var before = resumed.Parameters.Select(p => (float[])p.Clone()).ToArray();
            var e = Assert.Throws<SafetensorsException>(() => resumed.Fit(Examples(), resume: true));
            Assert.Contains(message, e.Message);
            Assert.Equal(before, resumed.Parameters);
            Assert.Equal(0, resumed.Steps);

            // Neither the weights nor the optimizer's state moved: starting afresh gives what a new trainer gives.
            File.Delete(damaged);
            resumed.Fit(Examples());
            using var fresh = new RnnTrainer(Model(), Options("fresh.ckpt", 2));
            fresh.Fit(Examples());
            Assert.Equal(fresh.Parameters, resumed.Parameters);
        }
    }

    // Copies a checkpoint, each metadata value through metadata and each tensor's values through tensor (both optional):
    // tensor returns the values to write (of another length: written as a vector), or null to leave the tensor out.
    // metadata: each entry's new value, or null to leave the entry out.
    private void SaveChanged(string from, string to, Func<string, string, string?>? metadata = null, Func<string, float[], float[]?>? tensor = null)
    {
        var source = SafetensorsFile.Read(Path.Combine(_directory, from));
        var copy = new SafetensorsWriter();
        foreach (var (key, value) in source.Metadata)
        {
            if ((metadata is null ? value : metadata(key, value)) is string written)
            {
                copy.AddMetadata(key, written);
            }
        }

        foreach (var t in source.Tensors)
        {
            var values = source.ReadAsSingle(t.Name);
            var written = tensor is null ? values : tensor(t.Name, values);
            if (written is not null)
            {
                copy.Add(t.Name, written, written.Length == values.Length ? t.Shape.ToArray() : [written.Length]);
            }
        }

        copy.Save(Path.Combine(_directory, to));
    }

    // Cancels (or, without a token source, fails as a crashed data source would) at the first read of an example once the
    // trainer has taken the given number of steps. Fit reads the batch it has just trained to count its steps, so a
    // cancellation stops it before the next batch, and a crash comes before that step's checkpoint.
    private sealed class CancelAtStep(IReadOnlyList<TrainingExample> inner, Func<long> steps, long at, CancellationTokenSource? cancellation)
        : IReadOnlyList<TrainingExample>
    {
        public int Count => inner.Count;

        public TrainingExample this[int index]
        {
            get
            {
                if (steps() >= at)
                {
                    if (cancellation is null)
                    {
                        throw new IOException("simulated crash");
                    }

                    cancellation.Cancel();
                }

                return inner[index];
            }
        }

        public IEnumerator<TrainingExample> GetEnumerator() => inner.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
