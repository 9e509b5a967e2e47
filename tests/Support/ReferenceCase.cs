using System.Globalization;
using Embedded.Rnn.Safetensors;

namespace Embedded.Rnn.Tests.Support;

/// <summary>One PyTorch reference case from refs/ (format: refs/README.md).</summary>
public sealed class ReferenceCase
{
    private ReferenceCase(string stem, SafetensorsFile file)
    {
        Stem = stem;
        File = file;
        string Meta(string key) => file.Metadata[key];
        int Int(string key) => int.Parse(Meta(key), CultureInfo.InvariantCulture);
        Cell = Meta("cell");
        InputSize = Int("input_size");
        HiddenSize = Int("hidden_size");
        Layers = Int("num_layers");
        Directions = Int("num_directions");
        Steps = Int("seq_len");
        Batch = Int("batch");
        ParameterNames = Meta("param_names").Split(',');
        Input = file.ReadAsSingle("input");
        H0 = file.ReadAsSingle("h0");
        C0 = file.Contains("c0") ? file.ReadAsSingle("c0") : null;
        Output = file.ReadAsDouble("output");
        HN = file.ReadAsDouble("h_n");
        CN = file.Contains("c_n") ? file.ReadAsDouble("c_n") : null;
    }

    public static string Directory => Path.Combine(AppContext.BaseDirectory, "refs");

    public static IEnumerable<string> Stems =>
        System.IO.Directory.GetFiles(Directory, "*.safetensors").Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal);

    public string Stem { get; }

    public SafetensorsFile File { get; }

    public string Cell { get; }

    public int InputSize { get; }

    public int HiddenSize { get; }

    public int Layers { get; }

    public int Directions { get; }

    public int Steps { get; }

    public int Batch { get; }

    public IReadOnlyList<string> ParameterNames { get; }

    public float[] Input { get; }

    public float[] H0 { get; }

    public float[]? C0 { get; }

    public double[] Output { get; }

    public double[] HN { get; }

    public double[]? CN { get; }

    public int OutputSize => Directions * HiddenSize;

    public static ReferenceCase Load(string stem) =>
        new(stem, SafetensorsFile.Read(Path.Combine(Directory, stem + ".safetensors")));

    /// <summary>The parameters alone, as a safetensors file a model loads strictly.</summary>
    public byte[] ParameterFile()
    {
        var writer = new SafetensorsWriter();
        foreach (string name in ParameterNames)
        {
            var tensor = File.GetTensor(name);
            writer.Add(name, File.ReadAsSingle(name), tensor.Shape.ToArray());
        }

        return writer.ToArray();
    }

    public Dictionary<string, double[]> Parameters() => ParameterNames.ToDictionary(n => n, n => File.ReadAsDouble(n));

    /// <summary>Batch element b's input sequence, T × I.</summary>
    public float[] Sequence(int b) => Gather(Input, Steps, Batch, InputSize, b);

    /// <summary>Batch element b's expected output, T × D·H.</summary>
    public double[] ExpectedOutput(int b) => Gather(Output, Steps, Batch, OutputSize, b);

    /// <summary>Slot (layer·D + direction) of a [L·D, B, H] state tensor, for batch element b.</summary>
    public T[] StateSlice<T>(T[] tensor, int slot, int b) => tensor.AsSpan((slot * Batch + b) * HiddenSize, HiddenSize).ToArray();

    /// <summary>Batch element b of a time-major [T, B, width] tensor, T × width.</summary>
    public static T[] Gather<T>(T[] tensor, int steps, int batch, int width, int b)
    {
        var result = new T[steps * width];
        for (int t = 0; t < steps; t++)
        {
            tensor.AsSpan((t * batch + b) * width, width).CopyTo(result.AsSpan(t * width));
        }

        return result;
    }
}
