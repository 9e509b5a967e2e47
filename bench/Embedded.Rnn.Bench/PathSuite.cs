using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace Embedded.Rnn.Bench;

/// <summary>
/// One streaming Step of the small models on each vector path, forced (issue 16, item 2: which path is fastest where a
/// gate does not fill a Vector512). The same weights and input as the other suites; the state is carried.
/// Run: <c>dotnet run -c Release --project bench/Embedded.Rnn.Bench -- --filter '*PathStep*' --launchCount 3</c>.
/// </summary>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByParams)]
public abstract class PathStepSuite<TModel, TState>
    where TModel : class, IStreamingRnnModel<TState>
    where TState : struct, IRnnState
{
    private TModel _model = null!;
    private TState _state;
    private float[] _x = [];
    private float[] _y = [];

    [Params(KernelPath.Vector512, KernelPath.Vector256, KernelPath.Vector128)]
    public KernelPath Path { get; set; }

    protected abstract string Asset { get; }

    protected abstract TModel Create(byte[] weights, KernelPath path);

    [GlobalSetup]
    public void Setup()
    {
        _model = Create(Assets.Safetensors(Asset), Path);
        _x = Assets.Inputs(_model.Shape.InputSize, seed: 1);
        _y = new float[_model.Shape.OutputSize];
    }

    [Benchmark]
    public void Step() => _model.Step(_x, ref _state, _y);
}

public class PathStep_Lstm_I1_H8 : PathStepSuite<LstmI1H8, LstmI1H8.State>
{
    protected override string Asset => "lstm_i1_h8";

    protected override LstmI1H8 Create(byte[] weights, KernelPath path) => LstmI1H8.FromSafetensors(weights, path);
}

public class PathStep_Gru_I1_H8 : PathStepSuite<GruI1H8, GruI1H8.State>
{
    protected override string Asset => "gru_i1_h8";

    protected override GruI1H8 Create(byte[] weights, KernelPath path) => GruI1H8.FromSafetensors(weights, path);
}

public class PathStep_Lstm_I8_H32 : PathStepSuite<LstmI8H32, LstmI8H32.State>
{
    protected override string Asset => "lstm_i8_h32";

    protected override LstmI8H32 Create(byte[] weights, KernelPath path) => LstmI8H32.FromSafetensors(weights, path);
}

public class PathStep_Gru_I8_H32 : PathStepSuite<GruI8H32, GruI8H32.State>
{
    protected override string Asset => "gru_i8_h32";

    protected override GruI8H32 Create(byte[] weights, KernelPath path) => GruI8H32.FromSafetensors(weights, path);
}
