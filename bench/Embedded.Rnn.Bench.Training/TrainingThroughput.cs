using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using Embedded.Rnn;
using Embedded.Rnn.Bench;
using Embedded.Rnn.Safetensors;
using Embedded.Rnn.Training;

BenchmarkSwitcher.FromAssembly(typeof(TrainingThroughput).Assembly).Run(args,
    DefaultConfig.Instance.AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(10).WithLaunchCount(1)));

/// <summary>
/// One optimizer step (forward with tape, backward through time, gradient reduction, Adam update, repack) on a
/// batch of 32 sequences of 25 steps, sequence-to-sequence MSE, on all cores. Sequence steps per second =
/// 32 × 25 / (time per operation).
/// </summary>
[MemoryDiagnoser]
public class TrainingThroughput
{
    public const int Batch = 32;
    public const int Steps = 25;

    private RnnTrainer _trainer = null!;
    private TrainingExample[] _batch = [];

    [Params("lstm_i8_h32", "lstm_i16_h64", "lstm_i32_h128", "gru_i8_h32", "gru_i16_h64", "gru_i32_h128")]
    public string Model { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        ITrainableRnnModel model = Model switch
        {
            "lstm_i8_h32" => LstmI8H32.FromSafetensors(Zeros(LstmI8H32.Parameters)),
            "lstm_i16_h64" => LstmI16H64.FromSafetensors(Zeros(LstmI16H64.Parameters)),
            "lstm_i32_h128" => LstmI32H128.FromSafetensors(Zeros(LstmI32H128.Parameters)),
            "gru_i8_h32" => GruI8H32.FromSafetensors(Zeros(GruI8H32.Parameters)),
            "gru_i16_h64" => GruI16H64.FromSafetensors(Zeros(GruI16H64.Parameters)),
            _ => GruI32H128.FromSafetensors(Zeros(GruI32H128.Parameters)),
        };
        var random = new Random(1);
        var shape = model.Shape;
        _batch = Enumerable.Range(0, Batch).Select(_ => new TrainingExample(
            Enumerable.Range(0, Steps * shape.InputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(),
            Enumerable.Range(0, Steps * shape.OutputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray())).ToArray();
        _trainer = new RnnTrainer(model, new TrainingOptions { BatchSize = Batch, Target = TargetKind.SequenceToSequence, Optimizer = OptimizerKind.Adam });
        _trainer.TrainStep(_batch, 1e-4f);
    }

    [GlobalCleanup]
    public void Cleanup() => _trainer.Dispose();

    [Benchmark]
    public double TrainStep() => _trainer.TrainStep(_batch, 1e-4f);

    private static byte[] Zeros(IReadOnlyList<ParameterSpec> parameters)
    {
        var writer = new SafetensorsWriter();
        foreach (var p in parameters)
        {
            writer.Add(p.Name, new float[p.ElementCount], p.Shape.Select(d => (long)d).ToArray());
        }

        return writer.ToArray();
    }
}
