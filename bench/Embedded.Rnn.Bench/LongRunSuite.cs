using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Embedded.Rnn.Hosting;

namespace Embedded.Rnn.Bench;

/// <summary>
/// What a stream that runs for months meets (issue 19), on every kernel path, one step from a fixed state each
/// operation (the state is copied in, so every operation computes the same thing):
/// <list type="bullet">
/// <item><c>Step_normal</c>: from the state after a burst of 1,000 steps of input (normal floats), input zero.</item>
/// <item><c>Step_subnormal</c>: from the state after 1,000,000 further steps of zero input, which has decayed into
/// subnormal floats (weights: <see cref="DecayingWeights"/>; the setup prints how many values are subnormal).</item>
/// <item><c>Step_then_IsFinite</c>: <c>Step_normal</c> plus the poisoned-stream check.</item>
/// </list>
/// Run: <c>dotnet run -c Release --project bench/Embedded.Rnn.Bench -- --filter '*LongRun*' --launchCount 3</c> (three
/// processes per benchmark: a process can settle at one of two speeds for its whole run on this kind of host).
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByParams)]
public abstract class LongRunSuite<TModel, TState>
    where TModel : class, IStreamingRnnModel<TState>
    where TState : struct, IRnnState
{
    private TModel _model = null!;
    private TState _normal;
    private TState _subnormal;
    private float[] _zero = [];
    private float[] _y = [];

    [Params(KernelPath.Vector512, KernelPath.Vector256, KernelPath.Vector128, KernelPath.Scalar)]
    public KernelPath Path { get; set; }

    protected abstract RnnShape Shape { get; }

    protected abstract IReadOnlyList<ParameterSpec> Parameters { get; }

    protected abstract TModel Create(float[][] parameters, KernelPath path);

    [GlobalSetup]
    public void Setup()
    {
        var shape = Shape;
        _model = Create(DecayingWeights.For(shape.Cell, Parameters, shape.HiddenSize), Path);
        _zero = new float[shape.InputSize];
        _y = new float[shape.OutputSize];
        var burst = Assets.Inputs(1_000 * shape.InputSize, seed: 3);
        for (int t = 0; t < 1_000; t++)
        {
            _model.Step(burst.AsSpan(t * shape.InputSize, shape.InputSize), ref _normal, _y);
        }

        _subnormal = _normal;
        for (int t = 0; t < 1_000_000; t++)
        {
            _model.Step(_zero, ref _subnormal, _y);
        }

        Console.WriteLine($"// {shape.Cell} ({shape.InputSize}, {shape.HiddenSize}) on {_model.Path}: after the burst {Count(_normal)} subnormal values in h and c, after 1,000,000 quiet steps {Count(_subnormal)}; nonzero: {NonZero(_subnormal)}; finite: {_subnormal.IsFinite()}");
    }

    [Benchmark]
    public void Step_normal()
    {
        var state = _normal;
        _model.Step(_zero, ref state, _y);
    }

    [Benchmark]
    public void Step_subnormal()
    {
        var state = _subnormal;
        _model.Step(_zero, ref state, _y);
    }

    [Benchmark]
    public bool Step_then_IsFinite()
    {
        var state = _normal;
        _model.Step(_zero, ref state, _y);
        return state.IsFinite();
    }

    private static int NonZero(TState state) => state.Hidden(0).ToArray().Count(v => v != 0f);

    // Subnormal values of h and c, before the cells' flush the state's fixed point.
    private int Count(TState state) => DecayingWeights.Subnormals(ref state, Shape);
}

// LSTM at the smallest size (a latency-bound chain) and LSTM and GRU at (16, 64). A tanh RNN is left out: its state
// reached exact zero after the quiet phase even before the cells flushed subnormals (tanh's approximation rounds tiny
// inputs to zero), and it ran at the same speed.

public class LongRun_Lstm_I1_H8 : LongRunSuite<LstmI1H8, LstmI1H8.State>
{
    protected override RnnShape Shape => LstmI1H8.Shape;

    protected override IReadOnlyList<ParameterSpec> Parameters => LstmI1H8.Parameters;

    protected override LstmI1H8 Create(float[][] parameters, KernelPath path) => LstmI1H8.FromParameters(parameters, path);
}

public class LongRun_Lstm_I16_H64 : LongRunSuite<LstmI16H64, LstmI16H64.State>
{
    protected override RnnShape Shape => LstmI16H64.Shape;

    protected override IReadOnlyList<ParameterSpec> Parameters => LstmI16H64.Parameters;

    protected override LstmI16H64 Create(float[][] parameters, KernelPath path) => LstmI16H64.FromParameters(parameters, path);
}

public class LongRun_Gru_I16_H64 : LongRunSuite<GruI16H64, GruI16H64.State>
{
    protected override RnnShape Shape => GruI16H64.Shape;

    protected override IReadOnlyList<ParameterSpec> Parameters => GruI16H64.Parameters;

    protected override GruI16H64 Create(float[][] parameters, KernelPath path) => GruI16H64.FromParameters(parameters, path);
}
