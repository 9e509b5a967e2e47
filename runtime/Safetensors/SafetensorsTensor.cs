namespace Embedded.Rnn.Safetensors;

/// <summary>One tensor's entry in a safetensors header.</summary>
/// <param name="Name">Tensor name, e.g. <c>weight_ih_l0</c>.</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Dimensions, outermost first (C order).</param>
/// <param name="Begin">Byte offset of the data, relative to the start of the data section.</param>
/// <param name="End">Byte offset one past the data.</param>
public sealed record SafetensorsTensor(string Name, SafetensorsDType DType, IReadOnlyList<long> Shape, long Begin, long End)
{
    /// <summary>Number of elements (product of the shape; 1 for a scalar).</summary>
    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (long d in Shape)
            {
                count *= d;
            }

            return count;
        }
    }

    /// <summary>The shape written as <c>[d0, d1]</c>, for messages.</summary>
    public string ShapeText => FormatShape(Shape);

    internal static string FormatShape(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";
}
