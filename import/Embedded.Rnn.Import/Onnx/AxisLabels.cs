namespace Embedded.Rnn.Import.Onnx;

/// <summary>What one axis of a value along the chain holds: the importer follows these through the glue ops.</summary>
internal enum AxisLabel
{
    /// <summary>The graph input's first axis (time or batch: the first recurrent node says which).</summary>
    X0,

    /// <summary>The graph input's second axis.</summary>
    X1,

    /// <summary>The direction axis of a recurrent node's output Y (size 2: forward, reverse).</summary>
    Direction,

    /// <summary>Hidden units, when the directions are on their own axis.</summary>
    Hidden,

    /// <summary>The whole feature vector of a step (input features, both directions' hidden units, or the head's outputs).</summary>
    Feature,

    /// <summary>An axis of size 1 added by the glue.</summary>
    One,
}

/// <summary>One axis: what it holds (two input axes when a Reshape merged them, e.g. for a Gemm head) and its size.</summary>
internal sealed record Dim(AxisLabel[] Parts, long Size)
{
    public static Dim Of(AxisLabel label, long size) => new([label], size);

    public AxisLabel Label => Parts[0];

    public bool IsSingle(AxisLabel label) => Parts.Length == 1 && Parts[0] == label;

    public override string ToString() => string.Join("·", Parts) + $"({Size})";
}
