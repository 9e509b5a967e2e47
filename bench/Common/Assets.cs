using System.Reflection;
using Embedded.Rnn.Safetensors;

namespace Embedded.Rnn.Bench;

/// <summary>The grid and its assets (bench/assets, embedded in the assembly under their file names).</summary>
public static class Assets
{
    /// <summary>(input, hidden) sizes of the grid.</summary>
    public static readonly (int Input, int Hidden)[] Sizes = { (1, 8), (8, 32), (16, 64), (32, 128) };

    /// <summary>Cells of the grid.</summary>
    public static readonly string[] Cells = { "lstm", "gru", "rnn" };

    /// <summary>Time steps of the Sequence benchmarks.</summary>
    public const int SequenceLength = 100;

    public static string Name(string cell, int input, int hidden) => $"{cell}_i{input}_h{hidden}";

    public static int Gates(string cell) => cell switch { "lstm" => 4, "gru" => 3, _ => 1 };

    public static byte[] Bytes(string fileName)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(fileName)
            ?? throw new FileNotFoundException($"embedded asset {fileName} is missing: run bench/assets/make_assets.py");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    public static byte[] Safetensors(string name) => Bytes(name + ".safetensors");

    public static byte[] Onnx(string name) => Bytes(name + ".onnx");

    /// <summary>The four PyTorch tensors of one model.</summary>
    public static Weights Load(string cell, int input, int hidden)
    {
        var file = SafetensorsFile.Parse(Safetensors(Name(cell, input, hidden)));
        return new Weights(cell, input, hidden,
            file.ReadAsSingle("weight_ih_l0"), file.ReadAsSingle("weight_hh_l0"),
            file.ReadAsSingle("bias_ih_l0"), file.ReadAsSingle("bias_hh_l0"));
    }

    /// <summary>Deterministic inputs in [-1, 1).</summary>
    public static float[] Inputs(int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)(random.NextDouble() * 2 - 1);
        }

        return values;
    }
}

/// <summary>PyTorch state_dict tensors: W_ih [G·H, I], W_hh [G·H, H], b_ih, b_hh [G·H], gate rows in PyTorch order.</summary>
public sealed record Weights(string Cell, int Input, int Hidden, float[] WeightIh, float[] WeightHh, float[] BiasIh, float[] BiasHh)
{
    public int Gates => Assets.Gates(Cell);
}
