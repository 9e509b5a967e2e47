using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace Embedded.Rnn.Bench;

/// <summary>
/// One streaming Step of PyTorch's GRU and of the reset-before GRU (issue 17: ONNX linear_before_reset=0, Keras
/// reset_after=False) with the same weights, on the default (widest) path: what its second pass over W_hh costs, the
/// recurrent product that must wait for r ⊙ h. The state is carried.
/// Run: <c>dotnet run -c Release --project bench/Embedded.Rnn.Bench -- --filter '*ResetBefore*' --launchCount 3</c>.
/// </summary>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public abstract class ResetBeforeSuite<TAfter, TAfterState, TBefore, TBeforeState>
    where TAfter : class, IStreamingRnnModel<TAfterState>
    where TAfterState : struct, IRnnState
    where TBefore : class, IStreamingRnnModel<TBeforeState>
    where TBeforeState : struct, IRnnState
{
    private TAfter _after = null!;
    private TBefore _before = null!;
    private TAfterState _afterState;
    private TBeforeState _beforeState;
    private float[] _x = [];
    private float[] _y = [];

    protected abstract string Asset { get; }

    protected abstract TAfter CreateAfter(byte[] weights);

    protected abstract TBefore CreateBefore(byte[] weights);

    [GlobalSetup]
    public void Setup()
    {
        var weights = Assets.Safetensors(Asset);
        _after = CreateAfter(weights);
        _before = CreateBefore(weights);
        _x = Assets.Inputs(_after.Shape.InputSize, seed: 1);
        _y = new float[_after.Shape.OutputSize];
    }

    [Benchmark(Baseline = true)]
    public void ResetAfter() => _after.Step(_x, ref _afterState, _y);

    [Benchmark]
    public void ResetBefore() => _before.Step(_x, ref _beforeState, _y);
}

public class ResetBefore_Gru_I1_H8 : ResetBeforeSuite<GruI1H8, GruI1H8.State, GruBeforeI1H8, GruBeforeI1H8.State>
{
    protected override string Asset => "gru_i1_h8";

    protected override GruI1H8 CreateAfter(byte[] weights) => GruI1H8.FromSafetensors(weights);

    protected override GruBeforeI1H8 CreateBefore(byte[] weights) => GruBeforeI1H8.FromSafetensors(weights);
}

public class ResetBefore_Gru_I8_H32 : ResetBeforeSuite<GruI8H32, GruI8H32.State, GruBeforeI8H32, GruBeforeI8H32.State>
{
    protected override string Asset => "gru_i8_h32";

    protected override GruI8H32 CreateAfter(byte[] weights) => GruI8H32.FromSafetensors(weights);

    protected override GruBeforeI8H32 CreateBefore(byte[] weights) => GruBeforeI8H32.FromSafetensors(weights);
}

public class ResetBefore_Gru_I16_H64 : ResetBeforeSuite<GruI16H64, GruI16H64.State, GruBeforeI16H64, GruBeforeI16H64.State>
{
    protected override string Asset => "gru_i16_h64";

    protected override GruI16H64 CreateAfter(byte[] weights) => GruI16H64.FromSafetensors(weights);

    protected override GruBeforeI16H64 CreateBefore(byte[] weights) => GruBeforeI16H64.FromSafetensors(weights);
}

public class ResetBefore_Gru_I32_H128 : ResetBeforeSuite<GruI32H128, GruI32H128.State, GruBeforeI32H128, GruBeforeI32H128.State>
{
    protected override string Asset => "gru_i32_h128";

    protected override GruI32H128 CreateAfter(byte[] weights) => GruI32H128.FromSafetensors(weights);

    protected override GruBeforeI32H128 CreateBefore(byte[] weights) => GruBeforeI32H128.FromSafetensors(weights);
}
