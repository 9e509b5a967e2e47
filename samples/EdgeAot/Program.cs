using System.Diagnostics;
using System.Globalization;
using Embedded.Rnn;

// Streams sensor samples (CSV: one step per line, InputSize values; '#' lines are comments) from a file or
// stdin through a model whose weights are baked into this binary, and writes one CSV line of outputs per step.
//   EdgeAot [input.csv] [--state state.txt]    state.txt: h0 on the first line, c0 on the second (default zero)
// Exit codes: 0 done, 2 bad arguments or input (the message names the line and column).
try
{
    return Run(args);
}
catch (FormatException e)
{
    Console.Error.WriteLine($"EdgeAot: {e.Message}");
    return 2;
}
catch (IOException e)
{
    Console.Error.WriteLine($"EdgeAot: {e.Message}");
    return 2;
}

static int Run(string[] args)
{
    string? inputPath = null;
    string? statePath = null;
    for (int i = 0; i < args.Length; i++)
    {
        if (args[i] == "--state" && i + 1 < args.Length)
        {
            statePath = args[++i];
        }
        else if (!args[i].StartsWith("--", StringComparison.Ordinal) && inputPath is null)
        {
            inputPath = args[i];
        }
        else
        {
            Console.Error.WriteLine("usage: EdgeAot [input.csv] [--state state.txt]");
            return 2;
        }
    }

    var model = SensorNet.FromBakedWeights();
    var state = default(SensorNet.State);
    if (statePath is not null)
    {
        var lines = File.ReadAllLines(statePath);
        ParseInto(lines.ElementAtOrDefault(0) ?? string.Empty, state.Hidden(0), statePath, 1);
        ParseInto(lines.ElementAtOrDefault(1) ?? string.Empty, state.Cell(0), statePath, 2);
    }

    using var reader = inputPath is null ? Console.In : new StreamReader(inputPath);
    using var output = new StreamWriter(Console.OpenStandardOutput());
    Span<float> x = stackalloc float[SensorNet.InputSize];
    Span<float> y = stackalloc float[SensorNet.OutputSize];
    int lineNumber = 0;
    bool first = true;
    while (reader.ReadLine() is string line)
    {
        lineNumber++;
        if (line.Length == 0 || line.StartsWith('#'))
        {
            continue;
        }

        ParseInto(line, x, inputPath ?? "stdin", lineNumber);
        model.Step(x, ref state, y);
        if (first)
        {
            first = false;
            var sinceStart = DateTime.Now - Process.GetCurrentProcess().StartTime;
            Console.Error.WriteLine($"EdgeAot: first prediction {sinceStart.TotalMilliseconds:F1} ms after process start (path {model.Path}, weights {SensorNet.Precision})");
        }

        for (int i = 0; i < y.Length; i++)
        {
            output.Write(i == 0 ? string.Empty : ",");
            output.Write(y[i].ToString("R", CultureInfo.InvariantCulture));
        }

        output.WriteLine();
    }

    return 0;
}

static void ParseInto(string line, Span<float> destination, string source, int lineNumber)
{
    var fields = line.Split(',');
    if (fields.Length != destination.Length)
    {
        throw new FormatException($"{source} line {lineNumber}: {fields.Length} values; expected {destination.Length}.");
    }

    for (int i = 0; i < fields.Length; i++)
    {
        if (!float.TryParse(fields[i], NumberStyles.Float, CultureInfo.InvariantCulture, out destination[i]) || !float.IsFinite(destination[i]))
        {
            throw new FormatException($"{source} line {lineNumber}, column {i + 1}: '{fields[i].Trim()}' is not a finite number.");
        }
    }
}

// The build's WeightPrecision property picks the spec: the same weights, stored as float32, bfloat16 or int8.
#if WEIGHTS_INT8
[RnnModel("models/sensor.int8.rnn.json")]
#elif WEIGHTS_BF16
[RnnModel("models/sensor.bf16.rnn.json")]
#else
[RnnModel("models/sensor.rnn.json")]
#endif
internal sealed partial class SensorNet { }
