using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace Embedded.Rnn.Bench;

/// <summary>
/// N streams advanced by one step (issue 15): N single-stream Steps (one per state, as before the multi-stream Step)
/// against one multi-stream Step over the same N states. Per stream per step is the mean divided by N. The same weights
/// and inputs as the other suites; states are carried.
/// Run: <c>dotnet run -c Release --project bench/Embedded.Rnn.Bench -- --filter '*Streams_*'</c>.
/// </summary>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByParams)]
public abstract class StreamsSuite<TModel, TState>
    where TModel : class, IStreamingRnnModel<TState>
    where TState : struct, IRnnState
{
    private TModel _model = null!;
    private TState[] _states = [];
    private float[] _xs = [];
    private float[] _ys = [];

    [Params(KernelPath.Vector512, KernelPath.Vector256)]
    public KernelPath Path { get; set; }

    [Params(1, 4, 8, 16, 64)]
    public int Streams { get; set; }

    protected abstract string Asset { get; }

    protected abstract TModel Create(byte[] weights, KernelPath path);

    [GlobalSetup]
    public void Setup()
    {
        _model = Create(Assets.Safetensors(Asset), Path);
        _states = new TState[Streams];
        _xs = Assets.Inputs(Streams * _model.Shape.InputSize, seed: 1);
        _ys = new float[Streams * _model.Shape.OutputSize];
    }

    [Benchmark(Baseline = true)]
    public void StepEach()
    {
        int input = _model.Shape.InputSize, output = _model.Shape.OutputSize;
        for (int s = 0; s < _states.Length; s++)
        {
            _model.Step(_xs.AsSpan(s * input, input), ref _states[s], _ys.AsSpan(s * output, output));
        }
    }

    [Benchmark]
    public void StepMany() => _model.Step(_xs, _states, _ys);
}

[MemoryDiagnoser]
public class Streams_Lstm_I8_H32 : StreamsSuite<LstmI8H32, LstmI8H32.State>
{
    protected override string Asset => "lstm_i8_h32";

    protected override LstmI8H32 Create(byte[] weights, KernelPath path) => LstmI8H32.FromSafetensors(weights, path);
}

[MemoryDiagnoser]
public class Streams_Lstm_I16_H64 : StreamsSuite<LstmI16H64, LstmI16H64.State>
{
    protected override string Asset => "lstm_i16_h64";

    protected override LstmI16H64 Create(byte[] weights, KernelPath path) => LstmI16H64.FromSafetensors(weights, path);
}

[MemoryDiagnoser]
public class Streams_Lstm_I32_H128 : StreamsSuite<LstmI32H128, LstmI32H128.State>
{
    protected override string Asset => "lstm_i32_h128";

    protected override LstmI32H128 Create(byte[] weights, KernelPath path) => LstmI32H128.FromSafetensors(weights, path);
}

[MemoryDiagnoser]
public class Streams_Gru_I8_H32 : StreamsSuite<GruI8H32, GruI8H32.State>
{
    protected override string Asset => "gru_i8_h32";

    protected override GruI8H32 Create(byte[] weights, KernelPath path) => GruI8H32.FromSafetensors(weights, path);
}

[MemoryDiagnoser]
public class Streams_Gru_I16_H64 : StreamsSuite<GruI16H64, GruI16H64.State>
{
    protected override string Asset => "gru_i16_h64";

    protected override GruI16H64 Create(byte[] weights, KernelPath path) => GruI16H64.FromSafetensors(weights, path);
}

[MemoryDiagnoser]
public class Streams_Gru_I32_H128 : StreamsSuite<GruI32H128, GruI32H128.State>
{
    protected override string Asset => "gru_i32_h128";

    protected override GruI32H128 Create(byte[] weights, KernelPath path) => GruI32H128.FromSafetensors(weights, path);
}

[MemoryDiagnoser]
public class Streams_Rnn_I8_H32 : StreamsSuite<RnnI8H32, RnnI8H32.State>
{
    protected override string Asset => "rnn_i8_h32";

    protected override RnnI8H32 Create(byte[] weights, KernelPath path) => RnnI8H32.FromSafetensors(weights, path);
}

[MemoryDiagnoser]
public class Streams_Rnn_I16_H64 : StreamsSuite<RnnI16H64, RnnI16H64.State>
{
    protected override string Asset => "rnn_i16_h64";

    protected override RnnI16H64 Create(byte[] weights, KernelPath path) => RnnI16H64.FromSafetensors(weights, path);
}

[MemoryDiagnoser]
public class Streams_Rnn_I32_H128 : StreamsSuite<RnnI32H128, RnnI32H128.State>
{
    protected override string Asset => "rnn_i32_h128";

    protected override RnnI32H128 Create(byte[] weights, KernelPath path) => RnnI32H128.FromSafetensors(weights, path);
}
