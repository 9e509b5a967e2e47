using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace Embedded.Rnn.Bench;

/// <summary>
/// Weight storage (issue 14): one streaming Step, batch 1, state carried, of the same model with float32, bf16 and int8
/// weights (the same assets, quantised at load), side by side in one run on the widest path and on the AVX2 path. The
/// setup prints each model's packed weight bytes. The three are called alike (through the generic model interface), so
/// the call costs the same on each side of a ratio.
/// Run: <c>dotnet run -c Release --project bench/Embedded.Rnn.Bench -- --filter '*Precision_*'</c>.
/// </summary>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByParams)]
public abstract class PrecisionSuite<TFloat32, TFloat32State, TBFloat16, TBFloat16State, TInt8, TInt8State>
    where TFloat32 : class, IStreamingRnnModel<TFloat32State>
    where TFloat32State : struct, IRnnState
    where TBFloat16 : class, IStreamingRnnModel<TBFloat16State>
    where TBFloat16State : struct, IRnnState
    where TInt8 : class, IStreamingRnnModel<TInt8State>
    where TInt8State : struct, IRnnState
{
    private TFloat32 _float32 = null!;
    private TBFloat16 _bfloat16 = null!;
    private TInt8 _int8 = null!;
    private TFloat32State _float32State;
    private TBFloat16State _bfloat16State;
    private TInt8State _int8State;
    private float[] _x = [];
    private float[] _y = [];

    [Params(KernelPath.Vector512, KernelPath.Vector256)]
    public KernelPath Path { get; set; }

    protected abstract string Asset { get; }

    protected abstract (TFloat32, TBFloat16, TInt8) Create(byte[] weights, KernelPath path);

    [GlobalSetup]
    public void Setup()
    {
        (_float32, _bfloat16, _int8) = Create(Assets.Safetensors(Asset), Path);
        _x = Assets.Inputs(_float32.Shape.InputSize, seed: 1);
        _y = new float[_float32.Shape.OutputSize];
        Console.WriteLine($"// {Asset}: packed weight bytes f32 {Bytes(_float32)}, bf16 {Bytes(_bfloat16)}, int8 {Bytes(_int8)}");
    }

    [Benchmark(Baseline = true)]
    public void Float32_Step() => _float32.Step(_x, ref _float32State, _y);

    [Benchmark]
    public void BFloat16_Step() => _bfloat16.Step(_x, ref _bfloat16State, _y);

    [Benchmark]
    public void Int8_Step() => _int8.Step(_x, ref _int8State, _y);

    // The packed blocks the kernels stream (every block's floats, headers included).
    private static long Bytes(IGeneratedRnnModel model)
    {
        var weights = (PackedWeights)model.GetType().GetField("_weights", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(model)!;
        return weights.BlockLengths.Sum(length => (long)length) * sizeof(float);
    }
}

[MemoryDiagnoser]
public class Precision_Lstm_I1_H8 : PrecisionSuite<LstmI1H8, LstmI1H8.State, LstmI1H8Bf16, LstmI1H8Bf16.State, LstmI1H8Int8, LstmI1H8Int8.State>
{
    protected override string Asset => "lstm_i1_h8";

    protected override (LstmI1H8, LstmI1H8Bf16, LstmI1H8Int8) Create(byte[] weights, KernelPath path) =>
        (LstmI1H8.FromSafetensors(weights, path), LstmI1H8Bf16.FromSafetensors(weights, path), LstmI1H8Int8.FromSafetensors(weights, path));
}

[MemoryDiagnoser]
public class Precision_Lstm_I8_H32 : PrecisionSuite<LstmI8H32, LstmI8H32.State, LstmI8H32Bf16, LstmI8H32Bf16.State, LstmI8H32Int8, LstmI8H32Int8.State>
{
    protected override string Asset => "lstm_i8_h32";

    protected override (LstmI8H32, LstmI8H32Bf16, LstmI8H32Int8) Create(byte[] weights, KernelPath path) =>
        (LstmI8H32.FromSafetensors(weights, path), LstmI8H32Bf16.FromSafetensors(weights, path), LstmI8H32Int8.FromSafetensors(weights, path));
}

[MemoryDiagnoser]
public class Precision_Lstm_I16_H64 : PrecisionSuite<LstmI16H64, LstmI16H64.State, LstmI16H64Bf16, LstmI16H64Bf16.State, LstmI16H64Int8, LstmI16H64Int8.State>
{
    protected override string Asset => "lstm_i16_h64";

    protected override (LstmI16H64, LstmI16H64Bf16, LstmI16H64Int8) Create(byte[] weights, KernelPath path) =>
        (LstmI16H64.FromSafetensors(weights, path), LstmI16H64Bf16.FromSafetensors(weights, path), LstmI16H64Int8.FromSafetensors(weights, path));
}

[MemoryDiagnoser]
public class Precision_Lstm_I32_H128 : PrecisionSuite<LstmI32H128, LstmI32H128.State, LstmI32H128Bf16, LstmI32H128Bf16.State, LstmI32H128Int8, LstmI32H128Int8.State>
{
    protected override string Asset => "lstm_i32_h128";

    protected override (LstmI32H128, LstmI32H128Bf16, LstmI32H128Int8) Create(byte[] weights, KernelPath path) =>
        (LstmI32H128.FromSafetensors(weights, path), LstmI32H128Bf16.FromSafetensors(weights, path), LstmI32H128Int8.FromSafetensors(weights, path));
}

[MemoryDiagnoser]
public class Precision_Gru_I1_H8 : PrecisionSuite<GruI1H8, GruI1H8.State, GruI1H8Bf16, GruI1H8Bf16.State, GruI1H8Int8, GruI1H8Int8.State>
{
    protected override string Asset => "gru_i1_h8";

    protected override (GruI1H8, GruI1H8Bf16, GruI1H8Int8) Create(byte[] weights, KernelPath path) =>
        (GruI1H8.FromSafetensors(weights, path), GruI1H8Bf16.FromSafetensors(weights, path), GruI1H8Int8.FromSafetensors(weights, path));
}

[MemoryDiagnoser]
public class Precision_Gru_I8_H32 : PrecisionSuite<GruI8H32, GruI8H32.State, GruI8H32Bf16, GruI8H32Bf16.State, GruI8H32Int8, GruI8H32Int8.State>
{
    protected override string Asset => "gru_i8_h32";

    protected override (GruI8H32, GruI8H32Bf16, GruI8H32Int8) Create(byte[] weights, KernelPath path) =>
        (GruI8H32.FromSafetensors(weights, path), GruI8H32Bf16.FromSafetensors(weights, path), GruI8H32Int8.FromSafetensors(weights, path));
}

[MemoryDiagnoser]
public class Precision_Gru_I16_H64 : PrecisionSuite<GruI16H64, GruI16H64.State, GruI16H64Bf16, GruI16H64Bf16.State, GruI16H64Int8, GruI16H64Int8.State>
{
    protected override string Asset => "gru_i16_h64";

    protected override (GruI16H64, GruI16H64Bf16, GruI16H64Int8) Create(byte[] weights, KernelPath path) =>
        (GruI16H64.FromSafetensors(weights, path), GruI16H64Bf16.FromSafetensors(weights, path), GruI16H64Int8.FromSafetensors(weights, path));
}

[MemoryDiagnoser]
public class Precision_Gru_I32_H128 : PrecisionSuite<GruI32H128, GruI32H128.State, GruI32H128Bf16, GruI32H128Bf16.State, GruI32H128Int8, GruI32H128Int8.State>
{
    protected override string Asset => "gru_i32_h128";

    protected override (GruI32H128, GruI32H128Bf16, GruI32H128Int8) Create(byte[] weights, KernelPath path) =>
        (GruI32H128.FromSafetensors(weights, path), GruI32H128Bf16.FromSafetensors(weights, path), GruI32H128Int8.FromSafetensors(weights, path));
}

[MemoryDiagnoser]
public class Precision_Rnn_I1_H8 : PrecisionSuite<RnnI1H8, RnnI1H8.State, RnnI1H8Bf16, RnnI1H8Bf16.State, RnnI1H8Int8, RnnI1H8Int8.State>
{
    protected override string Asset => "rnn_i1_h8";

    protected override (RnnI1H8, RnnI1H8Bf16, RnnI1H8Int8) Create(byte[] weights, KernelPath path) =>
        (RnnI1H8.FromSafetensors(weights, path), RnnI1H8Bf16.FromSafetensors(weights, path), RnnI1H8Int8.FromSafetensors(weights, path));
}

[MemoryDiagnoser]
public class Precision_Rnn_I8_H32 : PrecisionSuite<RnnI8H32, RnnI8H32.State, RnnI8H32Bf16, RnnI8H32Bf16.State, RnnI8H32Int8, RnnI8H32Int8.State>
{
    protected override string Asset => "rnn_i8_h32";

    protected override (RnnI8H32, RnnI8H32Bf16, RnnI8H32Int8) Create(byte[] weights, KernelPath path) =>
        (RnnI8H32.FromSafetensors(weights, path), RnnI8H32Bf16.FromSafetensors(weights, path), RnnI8H32Int8.FromSafetensors(weights, path));
}

[MemoryDiagnoser]
public class Precision_Rnn_I16_H64 : PrecisionSuite<RnnI16H64, RnnI16H64.State, RnnI16H64Bf16, RnnI16H64Bf16.State, RnnI16H64Int8, RnnI16H64Int8.State>
{
    protected override string Asset => "rnn_i16_h64";

    protected override (RnnI16H64, RnnI16H64Bf16, RnnI16H64Int8) Create(byte[] weights, KernelPath path) =>
        (RnnI16H64.FromSafetensors(weights, path), RnnI16H64Bf16.FromSafetensors(weights, path), RnnI16H64Int8.FromSafetensors(weights, path));
}

[MemoryDiagnoser]
public class Precision_Rnn_I32_H128 : PrecisionSuite<RnnI32H128, RnnI32H128.State, RnnI32H128Bf16, RnnI32H128Bf16.State, RnnI32H128Int8, RnnI32H128Int8.State>
{
    protected override string Asset => "rnn_i32_h128";

    protected override (RnnI32H128, RnnI32H128Bf16, RnnI32H128Int8) Create(byte[] weights, KernelPath path) =>
        (RnnI32H128.FromSafetensors(weights, path), RnnI32H128Bf16.FromSafetensors(weights, path), RnnI32H128Int8.FromSafetensors(weights, path));
}
