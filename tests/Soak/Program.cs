using System.Diagnostics;
using System.Globalization;
using Embedded.Rnn;

// Soak: one model, several streams, millions of steps of a real series (weekly CO2 at Mauna Loa, samples/data), on
// every core. At each of a number of checkpoints every stream's state (as State.WriteTo bytes) and its outputs so far
// must be bit for bit those of a sequential run on one thread, and the process's memory must not grow.
//   dotnet run -c Release --project tests/Soak -- [total steps, default 10,000,000]
// Ends with "N passed, N failed" (one check per checkpoint for the results, one for memory, one for allocation).
long totalSteps = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 10_000_000;
const int Streams = 8;
const int Checkpoints = 10;
long stepsPerStream = totalSteps / Streams;
long stepsPerCheckpoint = stepsPerStream / Checkpoints;
int workers = Math.Max(2, Environment.ProcessorCount);

float[] series = Co2.Load(Path.Combine(AppContext.BaseDirectory, "data", "co2.csv"));
var model = Forecaster.FromParameters(Weights.For(Forecaster.Parameters));
Console.WriteLine($"soak: {Forecaster.Shape} on {model.Path}, {Streams} streams × {stepsPerStream:N0} steps = {Streams * stepsPerStream:N0} steps, " +
    $"{Checkpoints} checkpoints, {workers} threads; series of {series.Length} weeks");

// Stream s reads the series from offset 97·s, wrapping around, each week scaled into about [-1, 1].
float Input(int stream, long t) => series[(int)((t + 97L * stream) % series.Length)];

// What a stream has produced by a checkpoint: its state's bytes and a hash of every output bit so far.
static byte[] Snapshot(ref Forecaster.State state, ulong outputs)
{
    var bytes = new byte[Forecaster.State.SavedLength + sizeof(ulong)];
    state.WriteTo(bytes);
    BitConverter.TryWriteBytes(bytes.AsSpan(Forecaster.State.SavedLength), outputs);
    return bytes;
}

// Step t of one stream: its reading in, its output folded into the stream's output hash (FNV-1a); allocation-free.
// Both runs below step through this one function.
const ulong NoOutputs = 14695981039346656037UL; // FNV-1a's offset basis: the hash of no outputs yet
void StepStream(int stream, long t, ref Forecaster.State state, ref ulong outputs)
{
    Span<float> x = stackalloc float[1];
    Span<float> y = stackalloc float[1];
    x[0] = Input(stream, t);
    model.Step(x, ref state, y);
    outputs = (outputs ^ BitConverter.SingleToUInt32Bits(y[0])) * 1099511628211UL;
}

var clock = Stopwatch.StartNew();

// The sequential reference: one thread, stream after stream.
var expected = new byte[Streams, Checkpoints][];
for (int s = 0; s < Streams; s++)
{
    var state = default(Forecaster.State);
    ulong outputs = NoOutputs;
    for (int k = 0; k < Checkpoints; k++)
    {
        for (long t = k * stepsPerCheckpoint; t < (k + 1) * stepsPerCheckpoint; t++)
        {
            StepStream(s, t, ref state, ref outputs);
        }

        expected[s, k] = Snapshot(ref state, outputs);
    }
}

Console.WriteLine($"sequential reference: {clock.Elapsed.TotalSeconds:F1} s");
clock.Restart();

// The same streams on every core: each worker owns the streams s ≡ w (mod workers) and steps them interleaved, one
// step each in turn, so that many states are live at once. Workers live for the whole run; at each checkpoint they
// meet the main thread at a barrier, which compares every stream with the reference while they wait.
var states = new Forecaster.State[Streams];
var hashes = Enumerable.Repeat(NoOutputs, Streams).ToArray();
long allocated = 0;
var managed = new List<long>();
var privateBytes = new List<long>();
int passed = 0, failed = 0;
using var checkpoint = new Barrier(workers + 1);
var threads = Enumerable.Range(0, workers).Select(w => new Thread(() =>
{
    for (int k = 0; k < Checkpoints; k++)
    {
        long before = GC.GetAllocatedBytesForCurrentThread(); // the steps only: Barrier allocates when it first blocks
        for (long t = k * stepsPerCheckpoint; t < (k + 1) * stepsPerCheckpoint; t++)
        {
            for (int s = w; s < Streams; s += workers)
            {
                StepStream(s, t, ref states[s], ref hashes[s]);
            }
        }

        Interlocked.Add(ref allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        checkpoint.SignalAndWait(); // this checkpoint's steps are done
        checkpoint.SignalAndWait(); // the main thread has compared
    }
})).ToList();
threads.ForEach(t => t.Start());
for (int k = 0; k < Checkpoints; k++)
{
    checkpoint.SignalAndWait();
    int mismatches = 0;
    for (int s = 0; s < Streams; s++)
    {
        mismatches += Snapshot(ref states[s], hashes[s]).AsSpan().SequenceEqual(expected[s, k]) ? 0 : 1;
    }

    managed.Add(GC.GetTotalMemory(forceFullCollection: true));
    using (var process = Process.GetCurrentProcess())
    {
        privateBytes.Add(process.PrivateMemorySize64);
    }

    Console.WriteLine($"checkpoint {k + 1}/{Checkpoints}: step {(k + 1) * stepsPerCheckpoint:N0} of each stream, " +
        $"{(mismatches == 0 ? "all streams bit for bit the sequential run" : $"{mismatches} streams DIFFER from the sequential run")}, " +
        $"managed heap {managed[^1] / 1024.0:F0} KiB, private memory {privateBytes[^1] / 1024.0 / 1024:F1} MiB");
    if (mismatches == 0) { passed++; } else { failed++; }
    checkpoint.SignalAndWait();
}

threads.ForEach(t => t.Join());
Console.WriteLine($"parallel: {clock.Elapsed.TotalSeconds:F1} s");

// Memory, from the second checkpoint on (by then the code is compiled at its final tier): the managed heap after a
// full collection may grow by no more than the barrier's and the comparison's bookkeeping (64 KiB), and the process's
// private memory by less than 16 MiB: the GC commits memory in 4 MiB regions, so private memory moves in such steps,
// while a leak of even 2 bytes per step would be 16 MiB over the 8 million steps in between (one state per step, GiBs).
long heapGrowth = managed[^1] - managed[1];
long privateGrowth = privateBytes[^1] - privateBytes[1];
bool steady = heapGrowth < 64 * 1024 && privateGrowth < 16L * 1024 * 1024;
Console.WriteLine($"memory from checkpoint 2 to {Checkpoints}: managed heap {heapGrowth / 1024.0:+0;-0} KiB, private memory {privateGrowth / 1024.0:+0;-0} KiB: {(steady ? "steady" : "GROWS")}");
if (steady) { passed++; } else { failed++; }

// The stepping threads allocate nothing at all.
Console.WriteLine($"allocated on the stepping threads: {allocated} bytes");
if (allocated == 0) { passed++; } else { failed++; }

Console.WriteLine($"{passed} passed, {failed} failed");
return failed == 0 ? 0 : 1;

[RnnModel("Models/forecaster.rnn.json")]
public partial class Forecaster { }

internal static class Co2
{
    /// <summary>The weekly series (weeks without a measurement left out), scaled to [-1, 1] over its range.</summary>
    public static float[] Load(string path)
    {
        var values = File.ReadLines(path).Skip(1)
            .Select(line => line.Split(',')[1])
            .Where(value => value.Length > 0) // weeks without a measurement
            .Select(value => double.Parse(value, CultureInfo.InvariantCulture))
            .ToArray();
        double low = values.Min(), high = values.Max();
        return values.Select(v => (float)((v - low) / (high - low) * 2 - 1)).ToArray();
    }
}

internal static class Weights
{
    /// <summary>Deterministic weights in PyTorch's initial range, U(-1/√H, 1/√H).</summary>
    public static float[][] For(IReadOnlyList<ParameterSpec> parameters)
    {
        var random = new Random(19);
        float bound = 1f / MathF.Sqrt(Forecaster.HiddenSize);
        return parameters.Select(p => Enumerable.Range(0, p.ElementCount).Select(_ => (float)(random.NextDouble() * 2 - 1) * bound).ToArray()).ToArray();
    }
}
