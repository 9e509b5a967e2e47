using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace Embedded.Rnn.Bench;

/// <summary>
/// One cell and size: every competitor on the same weights (bench/assets) and inputs, batch 1, one thread.
/// Step: one streaming step, state carried from call to call. Sequence: T = 100 steps per call, reported per
/// step (OperationsPerInvoke). The setup checks that all four agree within 1e-4 before anything is timed.
/// Ours is declared in each derived class, on the concrete generated type (no interface or virtual call).
/// </summary>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public abstract class CellSuite
{
    public const int T = Assets.SequenceLength;

    private Baseline _scalar = null!;
    private Baseline _tensor = null!;
    private OnnxCompetitor _onnx = null!;

    public abstract string Cell { get; }

    public abstract int Input { get; }

    public abstract int Hidden { get; }

    protected float[] X { get; private set; } = null!;

    protected float[] Y { get; private set; } = null!;

    protected float[] Xs { get; private set; } = null!;

    protected float[] Ys { get; private set; } = null!;

    [GlobalSetup]
    public void Setup()
    {
        var weights = Assets.Load(Cell, Input, Hidden);
        X = Assets.Inputs(Input, seed: 1);
        Y = new float[Hidden];
        Xs = Assets.Inputs(T * Input, seed: 2);
        Ys = new float[T * Hidden];
        _scalar = Baseline.Scalar(weights);
        _tensor = Baseline.Tensor(weights);
        _onnx = new OnnxCompetitor(Cell, Input, Hidden, T);
        CreateOurs(Assets.Safetensors(Assets.Name(Cell, Input, Hidden)));
        Console.WriteLine($"// {Assets.Name(Cell, Input, Hidden)}: kernel path {OursPath}; {Verify()}");
        X.CopyTo(_onnx.StepX);
        Xs.CopyTo(_onnx.SequenceX);
    }

    [GlobalCleanup]
    public void Cleanup() => _onnx.Dispose();

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Step")]
    public void Scalar_Step() => _scalar.Step(X, Y);

    [Benchmark]
    [BenchmarkCategory("Step")]
    public void TensorPrimitives_Step() => _tensor.Step(X, Y);

    [Benchmark]
    [BenchmarkCategory("Step")]
    public void OnnxRuntime_Step() => _onnx.Step();

    [Benchmark(Baseline = true, OperationsPerInvoke = T)]
    [BenchmarkCategory("Sequence")]
    public void Scalar_Sequence() => _scalar.Run(Xs, Ys);

    [Benchmark(OperationsPerInvoke = T)]
    [BenchmarkCategory("Sequence")]
    public void TensorPrimitives_Sequence() => _tensor.Run(Xs, Ys);

    [Benchmark(OperationsPerInvoke = T)]
    [BenchmarkCategory("Sequence")]
    public void OnnxRuntime_Sequence() => _onnx.Run();

    // Ours, for the agreement check only (the benchmarks call the concrete type directly).
    protected abstract void CreateOurs(byte[] safetensors);

    protected abstract KernelPath OursPath { get; }

    protected abstract void OursReset();

    protected abstract void OursStep(float[] x, float[] y);

    protected abstract void OursRun(float[] xs, float[] ys);

    /// <summary>
    /// Runs all four from the zero state on the same inputs: 5 streaming steps (each output compared), then a
    /// T-step sequence (every output compared); throws if any differs from the scalar baseline by more than 1e-4.
    /// Leaves every competitor at the zero state.
    /// </summary>
    public string Verify()
    {
        const float tolerance = 1e-4f;
        float worstStep = 0, worstSequence = 0;
        var names = new[] { "ours", "TensorPrimitives", "ONNX Runtime" };
        var worst = new float[3];
        ResetAll();
        var x = new float[Input];
        var reference = new float[Hidden];
        var outputs = new[] { new float[Hidden], new float[Hidden], new float[Hidden] };
        for (int t = 0; t < 5; t++)
        {
            Array.Copy(Xs, t * Input, x, 0, Input);
            _scalar.Step(x, reference);
            OursStep(x, outputs[0]);
            _tensor.Step(x, outputs[1]);
            x.CopyTo(_onnx.StepX);
            _onnx.Step();
            _onnx.StepY.CopyTo(outputs[2], 0);
            for (int k = 0; k < 3; k++)
            {
                float d = MaxAbsDifference(reference, outputs[k]);
                worst[k] = Math.Max(worst[k], d);
                worstStep = Math.Max(worstStep, d);
            }
        }

        ResetAll();
        var referenceSequence = new float[T * Hidden];
        var sequences = new[] { new float[T * Hidden], new float[T * Hidden] };
        _scalar.Run(Xs, referenceSequence);
        OursRun(Xs, sequences[0]);
        _tensor.Run(Xs, sequences[1]);
        Xs.CopyTo(_onnx.SequenceX, 0);
        _onnx.Run();
        var all = new[] { sequences[0], sequences[1], _onnx.SequenceY };
        for (int k = 0; k < 3; k++)
        {
            float d = MaxAbsDifference(referenceSequence, all[k]);
            worst[k] = Math.Max(worst[k], d);
            worstSequence = Math.Max(worstSequence, d);
        }

        ResetAll();
        string report = $"max |competitor - scalar| over 5 steps and a {T}-step sequence: "
            + string.Join(", ", names.Select((n, k) => $"{n} {worst[k]:E1}"));
        if (worstStep > tolerance || worstSequence > tolerance || float.IsNaN(worstStep) || float.IsNaN(worstSequence))
        {
            throw new InvalidOperationException($"{Assets.Name(Cell, Input, Hidden)}: competitors disagree beyond {tolerance}: {report}");
        }

        return report + $" (all within {tolerance:E0})";
    }

    private void ResetAll()
    {
        _scalar.Reset();
        _tensor.Reset();
        _onnx.Reset();
        OursReset();
    }

    private static float MaxAbsDifference(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float worst = 0;
        for (int i = 0; i < a.Length; i++)
        {
            float d = MathF.Abs(a[i] - b[i]);
            worst = float.IsNaN(d) ? float.NaN : MathF.Max(worst, d);
            if (float.IsNaN(worst))
            {
                return worst;
            }
        }

        return worst;
    }
}
