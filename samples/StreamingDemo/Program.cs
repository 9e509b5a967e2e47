using System.Diagnostics;
using System.Globalization;
using Embedded.Rnn;
using Embedded.Rnn.Safetensors;
using Embedded.Rnn.Training;

// Streams a real signal through a generated LSTM whose weights come from a PyTorch nn.LSTM(1, 8).
string dataDirectory = Path.Combine(AppContext.BaseDirectory, "data");
var reference = SafetensorsFile.Read(Path.Combine(dataDirectory, "lstm_i1_h8_t5_b1.safetensors"));

// The reference file also holds inputs and expected outputs; the model's loader is strict, so take the
// parameters it names (PyTorch state_dict names) into a weights-only file first.
var weights = new SafetensorsWriter();
foreach (var p in SensorNet.Parameters)
{
    weights.Add(p.Name, reference.ReadAsSingle(p.Name), p.Shape.Select(d => (long)d).ToArray());
}

var model = SensorNet.FromSafetensors(weights.ToArray());
Console.WriteLine($"SensorNet: {SensorNet.CellKind}, input {SensorNet.InputSize}, hidden {SensorNet.HiddenSize}, kernel path {model.Path}");

// 1. Replay PyTorch's own run and compare.
var input = reference.ReadAsSingle("input");
var expected = reference.ReadAsDouble("output");
var state = default(SensorNet.State);
reference.ReadAsSingle("h0").CopyTo(state.Hidden(0));
reference.ReadAsSingle("c0").CopyTo(state.Cell(0));
var outputs = new float[input.Length * SensorNet.OutputSize];
model.Run(input, ref state, outputs);
double worst = outputs.Select((v, i) => Math.Abs(v - expected[i])).Max();
Console.WriteLine($"PyTorch parity over {input.Length} steps: max |ours - torch| = {worst:E2}");

// 2. Stream the Nile flows (standardised) one step at a time, as a device would.
// CsvTable is strict: a malformed row stops with its file, line and column instead of streaming garbage.
var nile = CsvTable.Read(Path.Combine(dataDirectory, "nile.csv"));
var volumes = nile.Numbers("volume");
var flows = nile.Numbers("year").Select((year, i) => (Year: (int)year, Volume: volumes[i])).ToArray();
float mean = flows.Average(f => f.Volume);
float deviation = MathF.Sqrt(flows.Average(f => (f.Volume - mean) * (f.Volume - mean)));
var stream = default(SensorNet.State);
var hidden = new float[flows.Length * SensorNet.OutputSize];
Span<float> x = stackalloc float[SensorNet.InputSize];
var clock = Stopwatch.StartNew();
long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
for (int t = 0; t < flows.Length; t++)
{
    x[0] = (flows[t].Volume - mean) / deviation;
    model.Step(x, ref stream, hidden.AsSpan(t * SensorNet.OutputSize, SensorNet.OutputSize));
}

long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
clock.Stop();
for (int t = 0; t < flows.Length; t += 10)
{
    var h = hidden.AsSpan(t * SensorNet.OutputSize, 4);
    Console.WriteLine($"{flows[t].Year}  flow {flows[t].Volume,6:F0}  h[0..3] = {h[0],7:F4} {h[1],7:F4} {h[2],7:F4} {h[3],7:F4}");
}

Console.WriteLine($"Streamed {flows.Length} steps: {allocated} bytes allocated, {clock.Elapsed.TotalMicroseconds / flows.Length:F2} µs/step (includes first-call JIT: not a benchmark).");

// 3. One weights object, many independent streams (one State each).
var sensors = new SensorNet.State[3];
Span<float> y = stackalloc float[SensorNet.OutputSize];
for (int t = 0; t < 50; t++)
{
    for (int s = 0; s < sensors.Length; s++)
    {
        x[0] = MathF.Sin(0.2f * t + s);
        model.Step(x, ref sensors[s], y);
    }
}

Console.WriteLine("Three sensors after 50 steps, h[0]: " + string.Join(", ", sensors.Select(s => s.Hidden(0)[0].ToString("F4", CultureInfo.InvariantCulture))));

[RnnModel("models/sensor.rnn.json")]
internal sealed partial class SensorNet { }
