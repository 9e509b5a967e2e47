using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Embedded.Rnn.Kernels;

namespace Embedded.Rnn.Bench;

/// <summary>
/// N streams advanced by one step (issue 15): N single-stream Steps (one per state, as before the multi-stream Step)
/// against one multi-stream Step over the same N states. Per stream per step is the mean divided by N. The same weights
/// and inputs as the other suites; states are carried. <see cref="FinishEach"/> times what the multi-stream Step does per
/// stream after its tiles, the cell's pointwise step, alone: with the per-stream compute bound of the tiles' multiply-adds,
/// it is the floor under <see cref="StepMany"/>.
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
    private float[] _pre = [];
    private float[] _cellState = [];
    private Cell _cell;

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
        int hidden = _model.Shape.HiddenSize;
        _pre = Assets.Inputs(Streams * 4 * hidden, seed: 2);
        _cellState = new float[Streams * 2 * hidden];
        // Resolved here, once: a string switch per stream would be timed with the finish it chooses.
        _cell = _model.Shape.Cell switch
        {
            "lstm" => Cell.Lstm,
            "gru" => Cell.Gru,
            "rnn (tanh)" => Cell.TanhRnn,
            _ => throw new NotSupportedException($"FinishEach has no pointwise step for the cell {_model.Shape.Cell}."),
        };
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

    /// <summary>
    /// Each stream's pointwise step on its own pre-activations (4 × H floats: LSTM i, f, g, o; GRU r, z and the two parts
    /// of n; RNN a), as the streams kernels call it, with nothing else: no weights read. The activations overwrite the
    /// pre-activations with values in [-1, 1], so later calls see the same kind of input and cost the same (the
    /// activations have no data-dependent branch).
    /// </summary>
    [Benchmark]
    public void FinishEach()
    {
        nuint hidden = (nuint)_model.Shape.HiddenSize;
        for (int s = 0; s < _states.Length; s++)
        {
            ref float pre = ref _pre[s * 4 * (int)hidden];
            ref float h = ref _cellState[s * 2 * (int)hidden];
            if (Path == KernelPath.Vector512)
            {
                Finish<Vector512Width, Vector512<float>>(ref pre, ref h, hidden);
            }
            else
            {
                Finish<Vector256Width, Vector256<float>>(ref pre, ref h, hidden);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Finish<TWidth, TVector>(ref float pre, ref float h, nuint hidden)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
    {
        switch (_cell)
        {
            case Cell.Lstm:
                LstmPointwise.Activate<TWidth, TVector>(ref pre, ref Unsafe.Add(ref h, hidden), ref h, hidden, hidden);
                break;
            case Cell.Gru:
                GruPointwise.Activate<TWidth, TVector>(ref pre, ref h, hidden, hidden);
                break;
            case Cell.TanhRnn:
                RnnPointwise.Activate<TWidth, TVector, TanhActivation>(ref pre, ref h, hidden, 0f);
                break;
        }
    }

    private enum Cell
    {
        Lstm,
        Gru,
        TanhRnn,
    }
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
