using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace Embedded.Rnn.Bench;

/// <summary>
/// Whole sequences (issue 15, item 2), T = 100 steps each, states carried: for N sequences, T single Steps per sequence
/// (the baseline), one Run per sequence (time-batched: the first layer's input projections a group of steps at a time),
/// and one multi-stream Run over the N sequences. Per sequence per step is the mean divided by N × T. The same weights
/// and inputs as the other suites.
/// Run: <c>dotnet run -c Release --project bench/Embedded.Rnn.Bench -- --filter '*Sequences_*'</c>.
/// </summary>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByParams)]
public abstract class SequencesSuite<TModel, TState>
    where TModel : class, IStreamingRnnModel<TState>
    where TState : struct, IRnnState
{
    private const int T = Assets.SequenceLength;
    private TModel _model = null!;
    private TState[] _states = [];
    private float[] _xs = [];
    private float[] _ys = [];

    [Params(KernelPath.Vector512, KernelPath.Vector256)]
    public KernelPath Path { get; set; }

    [Params(1, 8)]
    public int Sequences { get; set; }

    protected abstract string Asset { get; }

    protected abstract TModel Create(byte[] weights, KernelPath path);

    [GlobalSetup]
    public void Setup()
    {
        _model = Create(Assets.Safetensors(Asset), Path);
        _states = new TState[Sequences];
        _xs = Assets.Inputs(Sequences * T * _model.Shape.InputSize, seed: 1);
        _ys = new float[Sequences * T * _model.Shape.OutputSize];
    }

    [Benchmark(Baseline = true)]
    public void StepEach()
    {
        int input = _model.Shape.InputSize, output = _model.Shape.OutputSize;
        for (int s = 0; s < _states.Length; s++)
        {
            for (int t = 0; t < T; t++)
            {
                int step = s * T + t;
                _model.Step(_xs.AsSpan(step * input, input), ref _states[s], _ys.AsSpan(step * output, output));
            }
        }
    }

    [Benchmark]
    public void RunEach()
    {
        int input = _model.Shape.InputSize, output = _model.Shape.OutputSize;
        for (int s = 0; s < _states.Length; s++)
        {
            _model.Run(_xs.AsSpan(s * T * input, T * input), ref _states[s], _ys.AsSpan(s * T * output, T * output));
        }
    }

    [Benchmark]
    public void RunMany() => _model.Run(_xs, _states, _ys);
}

[MemoryDiagnoser]
public class Sequences_Lstm_I8_H32 : SequencesSuite<LstmI8H32, LstmI8H32.State>
{
    protected override string Asset => "lstm_i8_h32";

    protected override LstmI8H32 Create(byte[] weights, KernelPath path) => LstmI8H32.FromSafetensors(weights, path);
}

[MemoryDiagnoser]
public class Sequences_Lstm_I16_H64 : SequencesSuite<LstmI16H64, LstmI16H64.State>
{
    protected override string Asset => "lstm_i16_h64";

    protected override LstmI16H64 Create(byte[] weights, KernelPath path) => LstmI16H64.FromSafetensors(weights, path);
}

[MemoryDiagnoser]
public class Sequences_Lstm_I32_H128 : SequencesSuite<LstmI32H128, LstmI32H128.State>
{
    protected override string Asset => "lstm_i32_h128";

    protected override LstmI32H128 Create(byte[] weights, KernelPath path) => LstmI32H128.FromSafetensors(weights, path);
}

[MemoryDiagnoser]
public class Sequences_Gru_I8_H32 : SequencesSuite<GruI8H32, GruI8H32.State>
{
    protected override string Asset => "gru_i8_h32";

    protected override GruI8H32 Create(byte[] weights, KernelPath path) => GruI8H32.FromSafetensors(weights, path);
}

[MemoryDiagnoser]
public class Sequences_Gru_I16_H64 : SequencesSuite<GruI16H64, GruI16H64.State>
{
    protected override string Asset => "gru_i16_h64";

    protected override GruI16H64 Create(byte[] weights, KernelPath path) => GruI16H64.FromSafetensors(weights, path);
}

[MemoryDiagnoser]
public class Sequences_Gru_I32_H128 : SequencesSuite<GruI32H128, GruI32H128.State>
{
    protected override string Asset => "gru_i32_h128";

    protected override GruI32H128 Create(byte[] weights, KernelPath path) => GruI32H128.FromSafetensors(weights, path);
}

[MemoryDiagnoser]
public class Sequences_Rnn_I8_H32 : SequencesSuite<RnnI8H32, RnnI8H32.State>
{
    protected override string Asset => "rnn_i8_h32";

    protected override RnnI8H32 Create(byte[] weights, KernelPath path) => RnnI8H32.FromSafetensors(weights, path);
}

[MemoryDiagnoser]
public class Sequences_Rnn_I16_H64 : SequencesSuite<RnnI16H64, RnnI16H64.State>
{
    protected override string Asset => "rnn_i16_h64";

    protected override RnnI16H64 Create(byte[] weights, KernelPath path) => RnnI16H64.FromSafetensors(weights, path);
}

[MemoryDiagnoser]
public class Sequences_Rnn_I32_H128 : SequencesSuite<RnnI32H128, RnnI32H128.State>
{
    protected override string Asset => "rnn_i32_h128";

    protected override RnnI32H128 Create(byte[] weights, KernelPath path) => RnnI32H128.FromSafetensors(weights, path);
}
