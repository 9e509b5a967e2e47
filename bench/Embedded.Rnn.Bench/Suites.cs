using BenchmarkDotNet.Attributes;

namespace Embedded.Rnn.Bench;

// The twelve suites of the grid (cell × size). Each adds Ours on its concrete generated model; the other
// competitors come from CellSuite. Written out per size so that the benchmark calls the generated class
// directly, as an application would.

[MemoryDiagnoser]
public class Lstm_I1_H8 : CellSuite
{
    private LstmI1H8 _model = null!;
    private LstmI1H8.State _state;

    public override string Cell => "lstm";

    public override int Input => 1;

    public override int Hidden => 8;

    protected override KernelPath OursPath => _model.Path;

    [Benchmark]
    [BenchmarkCategory("Step")]
    public void Ours_Step() => _model.Step(X, ref _state, Y);

    [Benchmark(OperationsPerInvoke = T)]
    [BenchmarkCategory("Sequence")]
    public void Ours_Sequence() => _model.Run(Xs, ref _state, Ys);

    protected override void CreateOurs(byte[] safetensors) => _model = LstmI1H8.FromSafetensors(safetensors);

    protected override void OursReset() => _state = default;

    protected override void OursStep(float[] x, float[] y) => _model.Step(x, ref _state, y);

    protected override void OursRun(float[] xs, float[] ys) => _model.Run(xs, ref _state, ys);
}

[MemoryDiagnoser]
public class Lstm_I8_H32 : CellSuite
{
    private LstmI8H32 _model = null!;
    private LstmI8H32.State _state;

    public override string Cell => "lstm";

    public override int Input => 8;

    public override int Hidden => 32;

    protected override KernelPath OursPath => _model.Path;

    [Benchmark]
    [BenchmarkCategory("Step")]
    public void Ours_Step() => _model.Step(X, ref _state, Y);

    [Benchmark(OperationsPerInvoke = T)]
    [BenchmarkCategory("Sequence")]
    public void Ours_Sequence() => _model.Run(Xs, ref _state, Ys);

    protected override void CreateOurs(byte[] safetensors) => _model = LstmI8H32.FromSafetensors(safetensors);

    protected override void OursReset() => _state = default;

    protected override void OursStep(float[] x, float[] y) => _model.Step(x, ref _state, y);

    protected override void OursRun(float[] xs, float[] ys) => _model.Run(xs, ref _state, ys);
}

[MemoryDiagnoser]
public class Lstm_I16_H64 : CellSuite
{
    private LstmI16H64 _model = null!;
    private LstmI16H64.State _state;

    public override string Cell => "lstm";

    public override int Input => 16;

    public override int Hidden => 64;

    protected override KernelPath OursPath => _model.Path;

    [Benchmark]
    [BenchmarkCategory("Step")]
    public void Ours_Step() => _model.Step(X, ref _state, Y);

    [Benchmark(OperationsPerInvoke = T)]
    [BenchmarkCategory("Sequence")]
    public void Ours_Sequence() => _model.Run(Xs, ref _state, Ys);

    protected override void CreateOurs(byte[] safetensors) => _model = LstmI16H64.FromSafetensors(safetensors);

    protected override void OursReset() => _state = default;

    protected override void OursStep(float[] x, float[] y) => _model.Step(x, ref _state, y);

    protected override void OursRun(float[] xs, float[] ys) => _model.Run(xs, ref _state, ys);
}

[MemoryDiagnoser]
public class Lstm_I32_H128 : CellSuite
{
    private LstmI32H128 _model = null!;
    private LstmI32H128.State _state;

    public override string Cell => "lstm";

    public override int Input => 32;

    public override int Hidden => 128;

    protected override KernelPath OursPath => _model.Path;

    [Benchmark]
    [BenchmarkCategory("Step")]
    public void Ours_Step() => _model.Step(X, ref _state, Y);

    [Benchmark(OperationsPerInvoke = T)]
    [BenchmarkCategory("Sequence")]
    public void Ours_Sequence() => _model.Run(Xs, ref _state, Ys);

    protected override void CreateOurs(byte[] safetensors) => _model = LstmI32H128.FromSafetensors(safetensors);

    protected override void OursReset() => _state = default;

    protected override void OursStep(float[] x, float[] y) => _model.Step(x, ref _state, y);

    protected override void OursRun(float[] xs, float[] ys) => _model.Run(xs, ref _state, ys);
}

[MemoryDiagnoser]
public class Gru_I1_H8 : CellSuite
{
    private GruI1H8 _model = null!;
    private GruI1H8.State _state;

    public override string Cell => "gru";

    public override int Input => 1;

    public override int Hidden => 8;

    protected override KernelPath OursPath => _model.Path;

    [Benchmark]
    [BenchmarkCategory("Step")]
    public void Ours_Step() => _model.Step(X, ref _state, Y);

    [Benchmark(OperationsPerInvoke = T)]
    [BenchmarkCategory("Sequence")]
    public void Ours_Sequence() => _model.Run(Xs, ref _state, Ys);

    protected override void CreateOurs(byte[] safetensors) => _model = GruI1H8.FromSafetensors(safetensors);

    protected override void OursReset() => _state = default;

    protected override void OursStep(float[] x, float[] y) => _model.Step(x, ref _state, y);

    protected override void OursRun(float[] xs, float[] ys) => _model.Run(xs, ref _state, ys);
}

[MemoryDiagnoser]
public class Gru_I8_H32 : CellSuite
{
    private GruI8H32 _model = null!;
    private GruI8H32.State _state;

    public override string Cell => "gru";

    public override int Input => 8;

    public override int Hidden => 32;

    protected override KernelPath OursPath => _model.Path;

    [Benchmark]
    [BenchmarkCategory("Step")]
    public void Ours_Step() => _model.Step(X, ref _state, Y);

    [Benchmark(OperationsPerInvoke = T)]
    [BenchmarkCategory("Sequence")]
    public void Ours_Sequence() => _model.Run(Xs, ref _state, Ys);

    protected override void CreateOurs(byte[] safetensors) => _model = GruI8H32.FromSafetensors(safetensors);

    protected override void OursReset() => _state = default;

    protected override void OursStep(float[] x, float[] y) => _model.Step(x, ref _state, y);

    protected override void OursRun(float[] xs, float[] ys) => _model.Run(xs, ref _state, ys);
}

[MemoryDiagnoser]
public class Gru_I16_H64 : CellSuite
{
    private GruI16H64 _model = null!;
    private GruI16H64.State _state;

    public override string Cell => "gru";

    public override int Input => 16;

    public override int Hidden => 64;

    protected override KernelPath OursPath => _model.Path;

    [Benchmark]
    [BenchmarkCategory("Step")]
    public void Ours_Step() => _model.Step(X, ref _state, Y);

    [Benchmark(OperationsPerInvoke = T)]
    [BenchmarkCategory("Sequence")]
    public void Ours_Sequence() => _model.Run(Xs, ref _state, Ys);

    protected override void CreateOurs(byte[] safetensors) => _model = GruI16H64.FromSafetensors(safetensors);

    protected override void OursReset() => _state = default;

    protected override void OursStep(float[] x, float[] y) => _model.Step(x, ref _state, y);

    protected override void OursRun(float[] xs, float[] ys) => _model.Run(xs, ref _state, ys);
}

[MemoryDiagnoser]
public class Gru_I32_H128 : CellSuite
{
    private GruI32H128 _model = null!;
    private GruI32H128.State _state;

    public override string Cell => "gru";

    public override int Input => 32;

    public override int Hidden => 128;

    protected override KernelPath OursPath => _model.Path;

    [Benchmark]
    [BenchmarkCategory("Step")]
    public void Ours_Step() => _model.Step(X, ref _state, Y);

    [Benchmark(OperationsPerInvoke = T)]
    [BenchmarkCategory("Sequence")]
    public void Ours_Sequence() => _model.Run(Xs, ref _state, Ys);

    protected override void CreateOurs(byte[] safetensors) => _model = GruI32H128.FromSafetensors(safetensors);

    protected override void OursReset() => _state = default;

    protected override void OursStep(float[] x, float[] y) => _model.Step(x, ref _state, y);

    protected override void OursRun(float[] xs, float[] ys) => _model.Run(xs, ref _state, ys);
}

[MemoryDiagnoser]
public class Rnn_I1_H8 : CellSuite
{
    private RnnI1H8 _model = null!;
    private RnnI1H8.State _state;

    public override string Cell => "rnn";

    public override int Input => 1;

    public override int Hidden => 8;

    protected override KernelPath OursPath => _model.Path;

    [Benchmark]
    [BenchmarkCategory("Step")]
    public void Ours_Step() => _model.Step(X, ref _state, Y);

    [Benchmark(OperationsPerInvoke = T)]
    [BenchmarkCategory("Sequence")]
    public void Ours_Sequence() => _model.Run(Xs, ref _state, Ys);

    protected override void CreateOurs(byte[] safetensors) => _model = RnnI1H8.FromSafetensors(safetensors);

    protected override void OursReset() => _state = default;

    protected override void OursStep(float[] x, float[] y) => _model.Step(x, ref _state, y);

    protected override void OursRun(float[] xs, float[] ys) => _model.Run(xs, ref _state, ys);
}

[MemoryDiagnoser]
public class Rnn_I8_H32 : CellSuite
{
    private RnnI8H32 _model = null!;
    private RnnI8H32.State _state;

    public override string Cell => "rnn";

    public override int Input => 8;

    public override int Hidden => 32;

    protected override KernelPath OursPath => _model.Path;

    [Benchmark]
    [BenchmarkCategory("Step")]
    public void Ours_Step() => _model.Step(X, ref _state, Y);

    [Benchmark(OperationsPerInvoke = T)]
    [BenchmarkCategory("Sequence")]
    public void Ours_Sequence() => _model.Run(Xs, ref _state, Ys);

    protected override void CreateOurs(byte[] safetensors) => _model = RnnI8H32.FromSafetensors(safetensors);

    protected override void OursReset() => _state = default;

    protected override void OursStep(float[] x, float[] y) => _model.Step(x, ref _state, y);

    protected override void OursRun(float[] xs, float[] ys) => _model.Run(xs, ref _state, ys);
}

[MemoryDiagnoser]
public class Rnn_I16_H64 : CellSuite
{
    private RnnI16H64 _model = null!;
    private RnnI16H64.State _state;

    public override string Cell => "rnn";

    public override int Input => 16;

    public override int Hidden => 64;

    protected override KernelPath OursPath => _model.Path;

    [Benchmark]
    [BenchmarkCategory("Step")]
    public void Ours_Step() => _model.Step(X, ref _state, Y);

    [Benchmark(OperationsPerInvoke = T)]
    [BenchmarkCategory("Sequence")]
    public void Ours_Sequence() => _model.Run(Xs, ref _state, Ys);

    protected override void CreateOurs(byte[] safetensors) => _model = RnnI16H64.FromSafetensors(safetensors);

    protected override void OursReset() => _state = default;

    protected override void OursStep(float[] x, float[] y) => _model.Step(x, ref _state, y);

    protected override void OursRun(float[] xs, float[] ys) => _model.Run(xs, ref _state, ys);
}

[MemoryDiagnoser]
public class Rnn_I32_H128 : CellSuite
{
    private RnnI32H128 _model = null!;
    private RnnI32H128.State _state;

    public override string Cell => "rnn";

    public override int Input => 32;

    public override int Hidden => 128;

    protected override KernelPath OursPath => _model.Path;

    [Benchmark]
    [BenchmarkCategory("Step")]
    public void Ours_Step() => _model.Step(X, ref _state, Y);

    [Benchmark(OperationsPerInvoke = T)]
    [BenchmarkCategory("Sequence")]
    public void Ours_Sequence() => _model.Run(Xs, ref _state, Ys);

    protected override void CreateOurs(byte[] safetensors) => _model = RnnI32H128.FromSafetensors(safetensors);

    protected override void OursReset() => _state = default;

    protected override void OursStep(float[] x, float[] y) => _model.Step(x, ref _state, y);

    protected override void OursRun(float[] xs, float[] ys) => _model.Run(xs, ref _state, ys);
}
