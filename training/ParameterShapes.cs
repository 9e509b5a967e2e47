namespace Embedded.Rnn.Training;

/// <summary>Shapes as safetensors writes them.</summary>
internal static class ParameterShapes
{
    /// <summary>The spec's dimensions as the long[] a safetensors entry takes.</summary>
    public static long[] TensorShape(this ParameterSpec spec) => spec.Shape.Select(d => (long)d).ToArray();
}
