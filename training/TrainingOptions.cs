using System.Globalization;

namespace Embedded.Rnn.Training;

/// <summary>What the trainer minimises.</summary>
public enum LossKind
{
    /// <summary>Mean squared error over every output value (PyTorch MSELoss, mean reduction).</summary>
    MeanSquaredError,
    /// <summary>Cross-entropy of a softmax head against target probabilities (one-hot for classes), mean over examples (and steps).</summary>
    CrossEntropy,
}

/// <summary>Where the loss looks at the outputs.</summary>
public enum TargetKind
{
    /// <summary>Only the last step's output has a target (OutputSize values per example).</summary>
    SequenceToOne,
    /// <summary>Every step's output has a target (T × OutputSize values per example).</summary>
    SequenceToSequence,
}

/// <summary>The update rule.</summary>
public enum OptimizerKind
{
    /// <summary>SGD with (optional) momentum and L2 weight decay, as torch.optim.SGD.</summary>
    Sgd,
    /// <summary>Adam with L2 weight decay added to the gradient, as torch.optim.Adam.</summary>
    Adam,
    /// <summary>Adam with decoupled weight decay, as torch.optim.AdamW.</summary>
    AdamW,
}

/// <summary>How the learning rate changes over epochs.</summary>
public enum LearningRateSchedule
{
    /// <summary>Constant.</summary>
    Constant,
    /// <summary>Multiplied by <see cref="TrainingOptions.DecayFactor"/> every <see cref="TrainingOptions.DecayEvery"/> epochs.</summary>
    StepDecay,
    /// <summary>Cosine from the base rate down to 0 over all epochs.</summary>
    Cosine,
}

/// <summary>Training settings. Defaults follow PyTorch where there is a convention.</summary>
public sealed record TrainingOptions
{
    /// <summary>Passes over the training set.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Examples per optimizer step.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Base learning rate.</summary>
    public float LearningRate { get; init; } = 1e-3f;

    /// <summary>Update rule.</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;

    /// <summary>SGD momentum (0 for plain SGD).</summary>
    public float Momentum { get; init; } = 0.9f;

    /// <summary>Weight decay (L2 for SGD and Adam, decoupled for AdamW).</summary>
    public float WeightDecay { get; init; }

    /// <summary>Adam β1.</summary>
    public float Beta1 { get; init; } = 0.9f;

    /// <summary>Adam β2.</summary>
    public float Beta2 { get; init; } = 0.999f;

    /// <summary>Adam ε.</summary>
    public float Epsilon { get; init; } = 1e-8f;

    /// <summary>Clip the gradient to this global L2 norm (null: no clipping).</summary>
    public float? ClipGradientNorm { get; init; }

    /// <summary>Truncated BPTT window in steps (null: back-propagate through whole sequences).</summary>
    public int? TruncatedSteps { get; init; }

    /// <summary>Learning-rate schedule.</summary>
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Constant;

    /// <summary>StepDecay: epochs between decays.</summary>
    public int DecayEvery { get; init; } = 10;

    /// <summary>StepDecay: factor per decay.</summary>
    public float DecayFactor { get; init; } = 0.5f;

    /// <summary>Dropout probability on outputs of all but the last recurrent layer, in training only.</summary>
    public float Dropout { get; init; }

    /// <summary>Loss.</summary>
    public LossKind Loss { get; init; } = LossKind.MeanSquaredError;

    /// <summary>Where targets apply.</summary>
    public TargetKind Target { get; init; } = TargetKind.SequenceToOne;

    /// <summary>Fraction of the training set held out for validation when no validation set is given.</summary>
    public float ValidationFraction { get; init; } = 0.1f;

    /// <summary>
    /// How many of <paramref name="exampleCount"/> examples Fit holds out for validation when it is given no validation
    /// set: ⌊ValidationFraction × count⌋, so none from a set smaller than 1 / ValidationFraction.
    /// </summary>
    public int ValidationHoldOut(int exampleCount) => (int)(exampleCount * ValidationFraction);

    /// <summary>Stop after this many epochs without a better validation loss, keeping the best weights (null: never).</summary>
    public int? EarlyStoppingPatience { get; init; }

    /// <summary>
    /// Quantisation-aware training: the weights the forward and backward passes see are the float32 master weights rounded
    /// as this storage type rounds them (<see cref="WeightQuantization"/>; biases are not rounded), and the gradients update
    /// the master weights as if rounding were the identity (the straight-through estimator). Validation, early stopping
    /// and the model the trainer leaves behind see the rounded weights too; <see cref="RnnTrainer.Parameters"/>, the
    /// checkpoint and the export keep the float32 master weights, which a model with this precision rounds the same way
    /// when it loads them. <see cref="WeightStorage.Float32"/> (the default): no rounding.
    /// </summary>
    public WeightStorage FakeQuantization { get; init; } = WeightStorage.Float32;

    /// <summary>Seed of every random choice (initialisation, shuffling, dropout, the validation split).</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Threads that process a mini-batch's shards; results do not depend on it.</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;

    /// <summary>Checkpoint file (written atomically), or null for none.</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>Optimizer steps between checkpoints (one is also written at the end).</summary>
    public int CheckpointEvery { get; init; } = 100;

    /// <summary>CSV file receiving one line per epoch (null: none).</summary>
    public string? LogPath { get; init; }

    /// <summary>
    /// Receives each epoch's report when the epoch ends (after its CSV log line), on the thread running Fit
    /// (null: none). <c>new ConsoleProgress()</c> shows a live line on the console. (System.Progress&lt;T&gt;
    /// would instead post the reports to a SynchronizationContext or the thread pool, asynchronously.)
    /// </summary>
    public IProgress<EpochReport>? Progress { get; init; }

    internal void Validate(ITrainableRnnModel model)
    {
        static void Check(bool ok, string message)
        {
            if (!ok)
            {
                throw new ArgumentException(message);
            }
        }

        Check(Enum.IsDefined(Loss), $"Loss {Loss} is not a LossKind.");
        Check(Enum.IsDefined(Target), $"Target {Target} is not a TargetKind.");
        Check(Enum.IsDefined(Optimizer), $"Optimizer {Optimizer} is not an OptimizerKind.");
        Check(Enum.IsDefined(Schedule), $"Schedule {Schedule} is not a LearningRateSchedule.");
        Check(Enum.IsDefined(FakeQuantization), $"FakeQuantization {FakeQuantization} is not a WeightStorage.");
        Check(Epochs >= 1, "Epochs must be at least 1.");
        Check(BatchSize >= 1, "BatchSize must be at least 1.");
        Check(float.IsFinite(LearningRate) && LearningRate > 0, "LearningRate must be a positive number.");
        Check(Momentum is >= 0 and < 1, "Momentum must be in [0, 1).");
        Check(float.IsFinite(WeightDecay) && WeightDecay >= 0, "WeightDecay must be a finite number >= 0.");
        Check(Beta1 is >= 0 and < 1 && Beta2 is >= 0 and < 1 && float.IsFinite(Epsilon) && Epsilon > 0, "Adam's betas must be in [0, 1) and epsilon a finite number > 0.");
        Check(ClipGradientNorm is null or > 0, "ClipGradientNorm must be positive.");
        Check(TruncatedSteps is null or >= 1, "TruncatedSteps must be at least 1.");
        Check(TruncatedSteps is null || model.Shape.DirectionCount == 1,
            "TruncatedSteps needs a unidirectional model: a bidirectional layer's reverse direction reads the whole sequence, so it cannot be cut into windows.");
        Check(Dropout is >= 0 and < 1, "Dropout must be in [0, 1).");
        Check(ValidationFraction is >= 0 and < 1, "ValidationFraction must be in [0, 1).");
        Check(EarlyStoppingPatience is null or >= 1, "EarlyStoppingPatience must be at least 1.");
        Check(Workers >= 1, "Workers must be at least 1.");
        Check(CheckpointEvery >= 1, "CheckpointEvery must be at least 1.");
        Check(DecayEvery >= 1 && float.IsFinite(DecayFactor) && DecayFactor > 0, "DecayEvery must be >= 1 and DecayFactor a finite number > 0.");
        // A DecayFactor above 1 grows the rate, and its largest value, the last epoch's, must still be a float; one below
        // 1 shrinks it, and the last epoch's must not have rounded to 0, where training stops without a word. (The
        // cosine schedule ends near 0 by design.)
        float lastRate = LearningRateSchedules.At(this, Epochs - 1);
        // (Not with early stopping, where Epochs may be int.MaxValue for "until it stops".)
        Check(float.IsFinite(lastRate) && (lastRate > 0 || Schedule != LearningRateSchedule.StepDecay || EarlyStoppingPatience is not null), string.Create(CultureInfo.InvariantCulture,
            $"The {Schedule} schedule's learning rate in the last epoch ({Epochs}) is {lastRate}: LearningRate {LearningRate} × DecayFactor {DecayFactor} to the power {(Epochs - 1) / DecayEvery} {(lastRate == 0 ? "rounds to 0" : "overflows")}."));
        Check(Loss != LossKind.CrossEntropy || model.HeadActivation == HeadActivation.Softmax,
            "CrossEntropy needs a model whose head has \"activation\": \"softmax\".");
    }
}
