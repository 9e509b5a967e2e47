using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using Embedded.Rnn.Safetensors;

namespace Embedded.Rnn.Training;

/// <summary>
/// Trains a generated model by BPTT on its own generated kernels: the weights it updates are the packed
/// weights inference runs, so what was trained is what ships. Parameters, gradients and optimizer state are
/// kept in PyTorch layout (state_dict names), so updates and exported weights match PyTorch's conventions.
/// A trainer runs one call at a time (<see cref="Fit"/>, <see cref="TrainStep"/>, <see cref="Evaluate"/>,
/// <see cref="GradientFlow"/>): a call from a second thread while one runs is refused. A <see cref="TrainingOptions.Progress"/>
/// that reports synchronously runs on the training thread between steps and may call them, and
/// <see cref="ExportSafetensors"/> (System.Progress&lt;T&gt; posts its reports to another thread, where they are refused).
/// </summary>
public sealed class RnnTrainer : IDisposable
{
    // This type is the training loop: epochs, early stopping, the learning-rate schedule, clipping, and when to
    // checkpoint, log and report. What it drives owns one concern each: BatchRunner (forward and backward of a
    // mini-batch across cores), ILoss via WindowLoss, IOptimizer, TrainingCheckpoint, EpochCsvLog, Progress.

    /// <summary>Shards per mini-batch: fixed, so results do not depend on the number of cores.</summary>
    public const int MaxShards = BatchRunner.MaxShards;

    private readonly ITrainableRnnModel _model;
    private readonly TrainingOptions _options;
    private readonly float[][] _parameters;
    private readonly float[][] _gradients;
    private readonly IOptimizer _optimizer;
    private readonly WindowLoss _loss;
    private readonly BatchRunner _batches;
    private readonly ExampleValidator _validator;
    private readonly TrainingCheckpoint? _checkpoint;
    private readonly EpochCsvLog? _log;
    private float[][]? _best;
    private readonly float[][]? _seen; // the rounded weights the model runs on under FakeQuantization, else null
    private int[] _identity = [];
    private long _globalStep;
    private int _callingThread; // the managed thread id of the call in progress, 0 when none (see Enter)
    private bool _disposed;

    /// <summary>Refuses a model generated without training kernels, at compile time (the message names the fix).</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    [Obsolete(TrainingKernels.Missing, error: true)]
    [EditorBrowsable(EditorBrowsableState.Never)]
    public RnnTrainer(IGeneratedRnnModel model, TrainingOptions options, IReadOnlyList<float[]>? initialParameters = null) =>
        throw TrainingKernels.MissingFrom(model);

    /// <summary>Creates a trainer. Without <paramref name="initialParameters"/>, weights are drawn as PyTorch
    /// initialises them (uniform ±1/√hidden; the head uniform ±1/√inputs) from <see cref="TrainingOptions.Seed"/>.</summary>
    /// <exception cref="ArgumentException">An option is out of range, or the parameters do not fit the model.</exception>
    public RnnTrainer(ITrainableRnnModel model, TrainingOptions options, IReadOnlyList<float[]>? initialParameters = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(model);
        _model = model;
        _options = options;
        _parameters = initialParameters?.Select(p => (float[])p.Clone()).ToArray()
            ?? ParameterInitializer.PyTorchUniform(model.Shape, model.ParameterSpecs, options.Seed);
        model.LoadParameters(_parameters); // checks the count and lengths first
        RefuseNonFinite(_parameters, model.ParameterSpecs);
        _seen = options.FakeQuantization == WeightStorage.Float32 ? null : _parameters.Select(p => new float[p.Length]).ToArray();
        LoadModel();
        _gradients = _parameters.Select(p => new float[p.Length]).ToArray();
        _optimizer = Optimizers.For(options, _parameters);
        _loss = new WindowLoss(Losses.For(options.Loss), options.Target, model.Shape.OutputSize);
        _batches = new BatchRunner(model, options, _loss);
        _validator = new ExampleValidator(model.Shape, options.Target, options.Loss);
        _checkpoint = options.CheckpointPath is null ? null : new TrainingCheckpoint(options.CheckpointPath, model, options.Seed, options.BatchSize);
        _log = options.LogPath is null ? null : new EpochCsvLog(options.LogPath);
    }

    /// <summary>The current parameters in PyTorch layout, in the model's ParameterSpecs order.</summary>
    public IReadOnlyList<float[]> Parameters => _parameters;

    /// <summary>Optimizer steps taken.</summary>
    public long Steps => _globalStep;

    /// <summary>
    /// Draws fresh weights as PyTorch initialises nn.RNN/LSTM/GRU and nn.Linear: uniform in ±1/√fan, where fan
    /// is the hidden size (the head's input size for the head). The trainer draws these when it is given no
    /// initial parameters; use them to create a model to train: <c>Net.FromParameters(RnnTrainer.InitialParameters(Net.Shape, Net.Parameters, seed))</c>.
    /// </summary>
    public static float[][] InitialParameters(RnnShape shape, IReadOnlyList<ParameterSpec> parameters, ulong seed = 1)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return ParameterInitializer.PyTorchUniform(shape, parameters, seed);
    }

    /// <summary>
    /// Trains on <paramref name="training"/>. Without <paramref name="validation"/>, ValidationFraction of the
    /// training set (chosen by the seed) is held out. With <paramref name="resume"/> and an existing checkpoint,
    /// continues from it to exactly the weights an uninterrupted run reaches.
    /// </summary>
    /// <exception cref="ArgumentException">An example's inputs or targets have the wrong length, the set is empty, or
    /// early stopping is asked for but the validation set is empty (it would never stop).</exception>
    /// <exception cref="TrainingDivergedException">The loss or gradients became NaN or infinite.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled. It is checked before
    /// each batch; with a checkpoint path, the position reached is saved first, so <c>resume</c> continues from there.</exception>
    public TrainingResult Fit(IReadOnlyList<TrainingExample> training, IReadOnlyList<TrainingExample>? validation = null, bool resume = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(training);
        using var call = Enter();
        RefuseMissingFolder(_options.CheckpointPath, nameof(TrainingOptions.CheckpointPath));
        RefuseMissingFolder(_options.LogPath, nameof(TrainingOptions.LogPath));
        (var train, var held) = ExampleOrder.Split(training, validation, _options);
        _validator.Check(train, "training");
        _validator.Check(held, "validation");
        if (_options.EarlyStoppingPatience is not null && held.Count == 0)
        {
            throw new ArgumentException(validation is null
                ? $"Early stopping needs a validation set, but ValidationFraction {_options.ValidationFraction.ToString(CultureInfo.InvariantCulture)} of {training.Count} examples holds out none."
                : "Early stopping needs a validation set, but the one given is empty.", nameof(training));
        }

        bool resumed = resume && _checkpoint is not null && _checkpoint.Exists;
        var position = resumed ? Restore(_checkpoint!, train.Count) : FitPosition.Start;
        if (position.Epoch >= _options.Epochs)
        {
            return new TrainingResult([], position.BestValidation, false);
        }

        _batches.EnsureCapacity(Math.Max(LongestSequence(train), LongestSequence(held)));
        var reports = new List<EpochReport>();
        var clock = Stopwatch.StartNew();
        int batchesPerEpoch = train.Count == 0 ? 0 : ((train.Count - 1) / _options.BatchSize) + 1; // no overflow at BatchSize int.MaxValue
        if (resumed)
        {
            // Epochs reported after the checkpoint are run and reported again. A checkpoint after an epoch's last batch
            // (written by an earlier version) comes after that epoch's report.
            _log?.DropEpochsFrom(position.Batch >= batchesPerEpoch ? position.Epoch + 1 : position.Epoch);
        }

        bool stoppedEarly = false;
        int epoch = position.Epoch;
        for (; epoch < _options.Epochs; epoch++)
        {
            var order = ExampleOrder.Shuffle(train.Count, _options.Seed, epoch);
            float learningRate = LearningRateSchedules.At(_options, epoch);
            int firstBatch = epoch == position.Epoch ? position.Batch : 0;

            // The losses summed so far and of how many batches: a resumed epoch starts from the checkpoint's sum, or,
            // from a checkpoint of an earlier version that kept none (NaN), from the batches run since.
            bool resumedSum = firstBatch > 0 && double.IsFinite(position.EpochLoss);
            double lossSum = resumedSum ? position.EpochLoss : 0;
            int lossBatches = resumedSum ? firstBatch : 0;
            long stepsDone = 0;
            bool checkpointAfterReport = false;
            var epochClock = Stopwatch.StartNew();

            for (int batch = firstBatch; batch < batchesPerEpoch; batch++)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    _checkpoint?.Save(position with { Epoch = epoch, Batch = batch, EpochLoss = SumSoFar(lossSum, lossBatches, batch) }, train.Count, _globalStep, _parameters, _optimizer, _best);
                    cancellationToken.ThrowIfCancellationRequested();
                }

                int start = batch * _options.BatchSize;
                var context = new BatchContext(train, order, start, Math.Min(_options.BatchSize, train.Count - start), Training: true, _globalStep);
                lossSum += UpdateOnBatch(context, learningRate, epoch, batch);
                lossBatches++;
                stepsDone += context.SequenceSteps(_model.Shape.InputSize);
                if (_checkpoint is not null && _globalStep % _options.CheckpointEvery == 0)
                {
                    // One due after the epoch's last batch waits for the epoch's validation and report: a run resumed
                    // from it starts the next epoch instead of reporting this one again.
                    if (batch + 1 < batchesPerEpoch)
                    {
                        _checkpoint.Save(position with { Epoch = epoch, Batch = batch + 1, EpochLoss = SumSoFar(lossSum, lossBatches, batch + 1) }, train.Count, _globalStep, _parameters, _optimizer, _best);
                    }
                    else
                    {
                        checkpointAfterReport = true;
                    }
                }
            }

            // Early stopping: remember the weights of the best validation loss so far, count the epochs since.
            double validationLoss = held.Count > 0 ? Evaluate(held) : double.NaN;
            if (double.IsFinite(validationLoss) && !(validationLoss >= position.BestValidation))
            {
                position = position with { BestValidation = validationLoss, Patience = 0 };
                _best = _parameters.Select(p => (float[])p.Clone()).ToArray();
            }
            else if (held.Count > 0)
            {
                position = position with { Patience = position.Patience + 1 };
            }

            // No batch run: resumed from a checkpoint an earlier version wrote after the epoch's last batch, whose run
            // most likely reported the epoch before it stopped (not if it stopped during that validation: the epoch then
            // has no report). The validation above still restores early stopping's bookkeeping.
            if (lossBatches > 0)
            {
                double elapsed = clock.Elapsed.TotalSeconds;
                var report = new EpochReport(epoch, _options.Epochs, lossSum / lossBatches, validationLoss, learningRate,
                    stepsDone / Math.Max(1e-9, epochClock.Elapsed.TotalSeconds), clock.Elapsed,
                    Remaining(elapsed / (reports.Count + 1) * (_options.Epochs - epoch - 1.0)));
                reports.Add(report);
                _log?.Append(report);
                _options.Progress?.Report(report);
            }

            position = position with { Epoch = epoch + 1, Batch = 0, EpochLoss = 0 };
            if (checkpointAfterReport)
            {
                _checkpoint!.Save(position, train.Count, _globalStep, _parameters, _optimizer, _best);
            }

            if (_options.EarlyStoppingPatience is int patience && position.Patience >= patience)
            {
                stoppedEarly = true;
                epoch++;
                break;
            }
        }

        if (_best is not null && _options.EarlyStoppingPatience is not null)
        {
            for (int k = 0; k < _parameters.Length; k++)
            {
                _best[k].CopyTo(_parameters[k], 0);
            }

            LoadModel();
        }

        _checkpoint?.Save(position with { Epoch = stoppedEarly ? _options.Epochs : epoch, Batch = 0 }, train.Count, _globalStep, _parameters, _optimizer, _best);
        return new TrainingResult(reports, position.BestValidation, stoppedEarly);
    }

    // The time left at the epochs' mean pace, capped: Epochs = int.MaxValue (train until early stopping) overflows a TimeSpan.
    internal static TimeSpan Remaining(double seconds) => seconds < TimeSpan.MaxValue.TotalSeconds / 2 ? TimeSpan.FromSeconds(seconds) : TimeSpan.MaxValue;

    // The epoch's loss sum a checkpoint before batch `next` records: unknown (NaN) when the sum lacks some of its batches.
    private static double SumSoFar(double lossSum, int lossBatches, int next) => lossBatches == next ? lossSum : double.NaN;

    /// <summary>
    /// One optimizer step on <paramref name="batch"/> (for custom loops): forward, backward, clipping and the
    /// update. Allocates nothing once the buffers exist (after the first call with the longest sequence).
    /// </summary>
    /// <returns>The batch's mean loss before the update.</returns>
    /// <exception cref="ArgumentException">The batch is empty or larger than BatchSize, or an example is malformed (as
    /// <see cref="Fit"/> checks them).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is not a positive finite number.</exception>
    /// <exception cref="TrainingDivergedException">The loss or gradients are not finite (epoch and batch are reported as 0).</exception>
    public double TrainStep(IReadOnlyList<TrainingExample> batch, float learningRate)
    {
        ArgumentNullException.ThrowIfNull(batch);
        using var call = Enter();
        if (batch.Count == 0 || batch.Count > _options.BatchSize)
        {
            throw new ArgumentException($"a batch holds 1 to BatchSize ({_options.BatchSize}) examples; got {batch.Count}.", nameof(batch));
        }

        if (!float.IsFinite(learningRate) || learningRate <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate must be a positive finite number.");
        }

        _validator.Check(batch, "batch");

        _batches.EnsureCapacity(LongestSequence(batch));
        if (_identity.Length < batch.Count)
        {
            _identity = Enumerable.Range(0, batch.Count).ToArray();
        }

        return UpdateOnBatch(new BatchContext(batch, _identity, 0, batch.Count, Training: true, _globalStep), learningRate, 0, 0);
    }

    /// <summary>Mean loss of the model on <paramref name="examples"/> (no dropout, no update).</summary>
    public double Evaluate(IReadOnlyList<TrainingExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        using var call = Enter();
        _validator.Check(examples, "evaluation");
        if (examples.Count == 0)
        {
            return double.NaN;
        }

        _batches.EnsureCapacity(LongestSequence(examples));
        double total = 0;
        var order = Enumerable.Range(0, examples.Count).ToArray();
        for (int start = 0; start < examples.Count; start += _options.BatchSize)
        {
            int count = Math.Min(_options.BatchSize, examples.Count - start);
            total += _batches.Run(new BatchContext(examples, order, start, count, Training: false, _globalStep)) * count;
        }

        return total / examples.Count;
    }

    /// <summary>
    /// The gradient-flow diagnostic: ‖dLoss/dh_t‖ of the top layer (forward direction) for every step t of one
    /// example, so vanishing or exploding gradients can be seen (and plotted) against the distance to the loss.
    /// </summary>
    public float[] GradientFlow(TrainingExample example)
    {
        ArgumentNullException.ThrowIfNull(example);
        using var call = Enter();
        _validator.Check([example], "the example");
        int steps = example.Inputs.Length / _model.Shape.InputSize;
        var backprop = new SequenceBackprop(_model, steps);
        var outputs = backprop.Forward(example.Inputs);
        var gradient = new float[outputs.Length];
        _loss.Evaluate(outputs, example.Targets, 0, steps, steps, gradient, batch: 1);
        backprop.Backward(gradient, _loss.GradientIsPreActivation);
        return backprop.HiddenGradientNorms(_model.Shape.LayerCount - 1).ToArray();
    }

    /// <summary>Writes the parameters as safetensors with PyTorch state_dict names, loadable by the generated
    /// model's FromSafetensors and by PyTorch's load_state_dict (through safetensors.torch.load_file).</summary>
    public void ExportSafetensors(string path)
    {
        var writer = new SafetensorsWriter().AddMetadata("format", "pt").AddMetadata("producer", "Embedded.Rnn.Training");
        var specs = _model.ParameterSpecs;
        for (int k = 0; k < specs.Count; k++)
        {
            writer.Add(specs[k].Name, _parameters[k], specs[k].TensorShape());
        }

        writer.Save(path);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">A call is running (on any thread, a Progress callback's included):
    /// disposing its workers under it would break it.</exception>
    public void Dispose()
    {
        if (Volatile.Read(ref _callingThread) != 0)
        {
            throw new InvalidOperationException("The trainer is running a call; dispose it after the call returns.");
        }

        _disposed = true;
        _batches.Dispose();
    }

    // Starts a call: refused after Dispose, and while another thread's call runs, since the shards' buffers, the gradients
    // and the optimizer are the trainer's own (two threads' steps corrupted them). A nested call on the same thread (from
    // a Progress callback) goes ahead. Interlocked, and a struct to dispose: nothing is allocated.
    private CallScope Enter()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int thread = Environment.CurrentManagedThreadId;
        int running = Interlocked.CompareExchange(ref _callingThread, thread, 0);
        if (running != 0 && running != thread)
        {
            throw new InvalidOperationException("The trainer is already running a call on another thread; a trainer runs one Fit, TrainStep, Evaluate or GradientFlow at a time.");
        }

        return new CallScope(this, outermost: running == 0);
    }

    private readonly struct CallScope(RnnTrainer trainer, bool outermost) : IDisposable
    {
        public void Dispose()
        {
            if (outermost)
            {
                Volatile.Write(ref trainer._callingThread, 0);
            }
        }
    }

    // A checkpoint or log whose folder does not exist would fail at its first write, possibly after every epoch has run.
    private static void RefuseMissingFolder(string? path, string option)
    {
        string? folder = path is null ? null : Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null && !Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"{option} '{path}': the folder '{folder}' does not exist; create it before training.");
        }
    }

    // One optimizer step: forward and backward on the batch, gradient reduction and clipping, the update.
    private double UpdateOnBatch(in BatchContext context, float learningRate, int epoch, int batch)
    {
        double loss = _batches.Run(context);
        if (!double.IsFinite(loss))
        {
            throw new TrainingDivergedException(epoch, batch, "the loss");
        }

        double norm = _batches.SumGradients(_gradients);
        if (!double.IsFinite(norm))
        {
            throw new TrainingDivergedException(epoch, batch, "the gradient");
        }

        if (_options.ClipGradientNorm is float clip && norm > clip)
        {
            float scale = (float)(clip / norm);
            foreach (var g in _gradients)
            {
                for (int i = 0; i < g.Length; i++)
                {
                    g[i] *= scale;
                }
            }
        }

        _optimizer.Update(_parameters, _gradients, learningRate);
        foreach (var p in _parameters)
        {
            // Finite gradients can still overflow a weight when the rate is huge; stop before the model or a checkpoint sees it.
            if (!TensorPrimitives.IsFiniteAll<float>(p))
            {
                throw new TrainingDivergedException(epoch, batch, "the updated weights", weightsUpdated: true);
            }
        }

        LoadModel();
        _globalStep++;
        return loss;
    }

    // Loads the master weights into the model, or with FakeQuantization the weights rounded as the storage type rounds them.
    private void LoadModel()
    {
        if (_seen is null)
        {
            _model.LoadParameters(_parameters);
            return;
        }

        WeightQuantization.Round(_model.ParameterSpecs, _parameters, _options.FakeQuantization, _seen);
        _model.LoadParameters(_seen);
    }

    private int LongestSequence(IReadOnlyList<TrainingExample> examples) => BatchRunner.LongestSequence(examples, _model.Shape.InputSize);

    private static void RefuseNonFinite(float[][] parameters, IReadOnlyList<ParameterSpec> specs)
    {
        for (int k = 0; k < parameters.Length; k++)
        {
            int bad = NonFinite.IndexOf(parameters[k]);
            if (bad >= 0)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"Initial parameter '{specs[k].Name}' holds {parameters[k][bad]} at index {bad}: training cannot start from non-finite weights."), "initialParameters");
            }
        }
    }

    private FitPosition Restore(TrainingCheckpoint checkpoint, int examples)
    {
        (var position, _globalStep, _best) = checkpoint.Load(_parameters, _optimizer, examples);
        LoadModel();
        return position;
    }
}
