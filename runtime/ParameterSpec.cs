namespace Embedded.Rnn;

/// <summary>One parameter tensor a generated model needs: its PyTorch <c>state_dict</c> name and shape.</summary>
/// <param name="Name">e.g. <c>weight_ih_l0</c>, <c>bias_hh_l1_reverse</c>, <c>head.weight</c>.</param>
/// <param name="Shape">Dimensions, outermost first.</param>
public sealed record ParameterSpec(string Name, IReadOnlyList<int> Shape)
{
    /// <summary>Number of float values (product of the shape).</summary>
    public int ElementCount
    {
        get
        {
            int count = 1;
            for (int i = 0; i < Shape.Count; i++)
            {
                count *= Shape[i]; // an indexer loop: the trainer checks this every step and must not allocate
            }

            return count;
        }
    }

    /// <summary>The shape written as <c>[d0, d1]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
