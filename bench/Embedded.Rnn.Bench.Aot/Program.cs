using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Embedded.Rnn;
using Embedded.Rnn.Bench;

// Times the generated models' Step (one streaming step, state carried) and Run (T = 100, per step) with the
// same loop under the JIT and under NativeAOT. Each figure is the median of 15 rounds of about 20 ms after a
// 300 ms warm-up (so the JIT's tier-1 code is what is timed); min is the fastest round.
// Under the JIT the timing loops are compiled fully optimised at once (AggressiveOptimization), so the model's thin
// Step and Run wrappers inline into them: left to tiering, the first model a process timed sometimes kept those wrappers
// at tier 0 through warm-up and measurement, however long (LSTM (1, 8): 125-150 ns a step instead of 47; Zen 3,
// .NET 10, 2026-12-01), while the kernels themselves reached tier 1.
// A NativeAOT process has JIT-compiled nothing (the PublishAot feature switches make RuntimeFeature report
// no dynamic code under the JIT as well, so it cannot tell the two apart).
string mode = System.Runtime.JitInfo.GetCompiledMethodCount() > 0 ? "JIT (CoreCLR, tiered PGO)" : "NativeAOT";
// Optional: only models whose name contains this (e.g. lstm_i8_h32), for profiling.
string filter = args.Length > 0 ? args[0] : string.Empty;
Console.WriteLine($"Embedded.Rnn Step/Run timing: {mode}; .NET {Environment.Version}; {RuntimeInformationText()}");
Console.WriteLine($"Vector512 accelerated: {Vector512.IsHardwareAccelerated}, Vector256: {Vector256.IsHardwareAccelerated}; default kernel path {KernelPaths.Best}");
Console.WriteLine();
Console.WriteLine("| model | Step median ns | Step min ns | Run/step median ns | Run/step min ns | allocated B (1,000 Steps + 10 Runs) |");
Console.WriteLine("|---|--:|--:|--:|--:|--:|");
if ("lstm_i1_h8".Contains(filter, StringComparison.Ordinal))
{
    var m = LstmI1H8.FromSafetensors(Assets.Safetensors("lstm_i1_h8"));
    var s = default(LstmI1H8.State);
    float[] x = Assets.Inputs(LstmI1H8.InputSize, 1), y = new float[LstmI1H8.OutputSize];
    float[] xs = Assets.Inputs(Assets.SequenceLength * LstmI1H8.InputSize, 2), ys = new float[Assets.SequenceLength * LstmI1H8.OutputSize];
    Timing.Report("lstm_i1_h8",
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Step(x, ref s, y); } },
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Run(xs, ref s, ys); } });
}
if ("lstm_i8_h32".Contains(filter, StringComparison.Ordinal))
{
    var m = LstmI8H32.FromSafetensors(Assets.Safetensors("lstm_i8_h32"));
    var s = default(LstmI8H32.State);
    float[] x = Assets.Inputs(LstmI8H32.InputSize, 1), y = new float[LstmI8H32.OutputSize];
    float[] xs = Assets.Inputs(Assets.SequenceLength * LstmI8H32.InputSize, 2), ys = new float[Assets.SequenceLength * LstmI8H32.OutputSize];
    Timing.Report("lstm_i8_h32",
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Step(x, ref s, y); } },
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Run(xs, ref s, ys); } });
}
if ("lstm_i16_h64".Contains(filter, StringComparison.Ordinal))
{
    var m = LstmI16H64.FromSafetensors(Assets.Safetensors("lstm_i16_h64"));
    var s = default(LstmI16H64.State);
    float[] x = Assets.Inputs(LstmI16H64.InputSize, 1), y = new float[LstmI16H64.OutputSize];
    float[] xs = Assets.Inputs(Assets.SequenceLength * LstmI16H64.InputSize, 2), ys = new float[Assets.SequenceLength * LstmI16H64.OutputSize];
    Timing.Report("lstm_i16_h64",
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Step(x, ref s, y); } },
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Run(xs, ref s, ys); } });
}
if ("lstm_i32_h128".Contains(filter, StringComparison.Ordinal))
{
    var m = LstmI32H128.FromSafetensors(Assets.Safetensors("lstm_i32_h128"));
    var s = default(LstmI32H128.State);
    float[] x = Assets.Inputs(LstmI32H128.InputSize, 1), y = new float[LstmI32H128.OutputSize];
    float[] xs = Assets.Inputs(Assets.SequenceLength * LstmI32H128.InputSize, 2), ys = new float[Assets.SequenceLength * LstmI32H128.OutputSize];
    Timing.Report("lstm_i32_h128",
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Step(x, ref s, y); } },
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Run(xs, ref s, ys); } });
}
if ("gru_i1_h8".Contains(filter, StringComparison.Ordinal))
{
    var m = GruI1H8.FromSafetensors(Assets.Safetensors("gru_i1_h8"));
    var s = default(GruI1H8.State);
    float[] x = Assets.Inputs(GruI1H8.InputSize, 1), y = new float[GruI1H8.OutputSize];
    float[] xs = Assets.Inputs(Assets.SequenceLength * GruI1H8.InputSize, 2), ys = new float[Assets.SequenceLength * GruI1H8.OutputSize];
    Timing.Report("gru_i1_h8",
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Step(x, ref s, y); } },
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Run(xs, ref s, ys); } });
}
if ("gru_i8_h32".Contains(filter, StringComparison.Ordinal))
{
    var m = GruI8H32.FromSafetensors(Assets.Safetensors("gru_i8_h32"));
    var s = default(GruI8H32.State);
    float[] x = Assets.Inputs(GruI8H32.InputSize, 1), y = new float[GruI8H32.OutputSize];
    float[] xs = Assets.Inputs(Assets.SequenceLength * GruI8H32.InputSize, 2), ys = new float[Assets.SequenceLength * GruI8H32.OutputSize];
    Timing.Report("gru_i8_h32",
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Step(x, ref s, y); } },
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Run(xs, ref s, ys); } });
}
if ("gru_i16_h64".Contains(filter, StringComparison.Ordinal))
{
    var m = GruI16H64.FromSafetensors(Assets.Safetensors("gru_i16_h64"));
    var s = default(GruI16H64.State);
    float[] x = Assets.Inputs(GruI16H64.InputSize, 1), y = new float[GruI16H64.OutputSize];
    float[] xs = Assets.Inputs(Assets.SequenceLength * GruI16H64.InputSize, 2), ys = new float[Assets.SequenceLength * GruI16H64.OutputSize];
    Timing.Report("gru_i16_h64",
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Step(x, ref s, y); } },
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Run(xs, ref s, ys); } });
}
if ("gru_i32_h128".Contains(filter, StringComparison.Ordinal))
{
    var m = GruI32H128.FromSafetensors(Assets.Safetensors("gru_i32_h128"));
    var s = default(GruI32H128.State);
    float[] x = Assets.Inputs(GruI32H128.InputSize, 1), y = new float[GruI32H128.OutputSize];
    float[] xs = Assets.Inputs(Assets.SequenceLength * GruI32H128.InputSize, 2), ys = new float[Assets.SequenceLength * GruI32H128.OutputSize];
    Timing.Report("gru_i32_h128",
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Step(x, ref s, y); } },
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Run(xs, ref s, ys); } });
}
if ("rnn_i1_h8".Contains(filter, StringComparison.Ordinal))
{
    var m = RnnI1H8.FromSafetensors(Assets.Safetensors("rnn_i1_h8"));
    var s = default(RnnI1H8.State);
    float[] x = Assets.Inputs(RnnI1H8.InputSize, 1), y = new float[RnnI1H8.OutputSize];
    float[] xs = Assets.Inputs(Assets.SequenceLength * RnnI1H8.InputSize, 2), ys = new float[Assets.SequenceLength * RnnI1H8.OutputSize];
    Timing.Report("rnn_i1_h8",
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Step(x, ref s, y); } },
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Run(xs, ref s, ys); } });
}
if ("rnn_i8_h32".Contains(filter, StringComparison.Ordinal))
{
    var m = RnnI8H32.FromSafetensors(Assets.Safetensors("rnn_i8_h32"));
    var s = default(RnnI8H32.State);
    float[] x = Assets.Inputs(RnnI8H32.InputSize, 1), y = new float[RnnI8H32.OutputSize];
    float[] xs = Assets.Inputs(Assets.SequenceLength * RnnI8H32.InputSize, 2), ys = new float[Assets.SequenceLength * RnnI8H32.OutputSize];
    Timing.Report("rnn_i8_h32",
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Step(x, ref s, y); } },
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Run(xs, ref s, ys); } });
}
if ("rnn_i16_h64".Contains(filter, StringComparison.Ordinal))
{
    var m = RnnI16H64.FromSafetensors(Assets.Safetensors("rnn_i16_h64"));
    var s = default(RnnI16H64.State);
    float[] x = Assets.Inputs(RnnI16H64.InputSize, 1), y = new float[RnnI16H64.OutputSize];
    float[] xs = Assets.Inputs(Assets.SequenceLength * RnnI16H64.InputSize, 2), ys = new float[Assets.SequenceLength * RnnI16H64.OutputSize];
    Timing.Report("rnn_i16_h64",
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Step(x, ref s, y); } },
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Run(xs, ref s, ys); } });
}
if ("rnn_i32_h128".Contains(filter, StringComparison.Ordinal))
{
    var m = RnnI32H128.FromSafetensors(Assets.Safetensors("rnn_i32_h128"));
    var s = default(RnnI32H128.State);
    float[] x = Assets.Inputs(RnnI32H128.InputSize, 1), y = new float[RnnI32H128.OutputSize];
    float[] xs = Assets.Inputs(Assets.SequenceLength * RnnI32H128.InputSize, 2), ys = new float[Assets.SequenceLength * RnnI32H128.OutputSize];
    Timing.Report("rnn_i32_h128",
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Step(x, ref s, y); } },
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] (long n) => { for (long i = 0; i < n; i++) { m.Run(xs, ref s, ys); } });
}

static string RuntimeInformationText() =>
    System.Runtime.InteropServices.RuntimeInformation.OSDescription + ", " + System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture;

internal static class Timing
{
    private const int Rounds = 15;
    private static readonly double TicksToNs = 1e9 / Stopwatch.Frequency;

    public static void Report(string name, Action<long> steps, Action<long> runs)
    {
        var (stepMedian, stepMin) = Measure(steps, 1);
        var (runMedian, runMin) = Measure(runs, Assets.SequenceLength);
        // Bytes allocated by 1,000 Steps and 10 Runs after warm-up (the timing loops' own bookkeeping excluded).
        long before = GC.GetAllocatedBytesForCurrentThread();
        steps(1000);
        runs(10);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {stepMedian:F1} | {stepMin:F1} | {runMedian:F1} | {runMin:F1} | {allocated} |"));
    }

    // ns per step: calibrate a round to ~20 ms, warm up ~300 ms, then the median and min of 15 rounds.
    private static (double Median, double Min) Measure(Action<long> body, int stepsPerCall)
    {
        long n = 16;
        while (true)
        {
            long t0 = Stopwatch.GetTimestamp();
            body(n);
            double ms = (Stopwatch.GetTimestamp() - t0) * TicksToNs / 1e6;
            if (ms > 5)
            {
                n = Math.Max(1, (long)(n * 20 / ms));
                break;
            }

            n *= 4;
        }

        long warmupEnd = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 3 / 10;
        while (Stopwatch.GetTimestamp() < warmupEnd)
        {
            body(n / 4 + 1);
        }

        var samples = new double[Rounds];
        for (int r = 0; r < Rounds; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            body(n);
            samples[r] = (Stopwatch.GetTimestamp() - t0) * TicksToNs / n / stepsPerCall;
        }

        Array.Sort(samples);
        return (samples[Rounds / 2], samples[0]);
    }
}
