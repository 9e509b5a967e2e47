using System.Numerics.Tensors;

namespace Embedded.Rnn.Training;

/// <summary>
/// The trainer's search for a NaN or infinity: in every batch's examples, the initial weights and a checkpoint's
/// tensors. (The runtime's loaders have their own, internal to it.)
/// </summary>
internal static class NonFinite
{
    /// <summary>
    /// The index of the first NaN or infinity in <paramref name="values"/>, or -1. Every batch is checked, so the
    /// vectorised test comes first; the place is searched for only when there is one.
    /// </summary>
    public static int IndexOf(float[] values) =>
        TensorPrimitives.IsFiniteAll<float>(values) ? -1 : Array.FindIndex(values, v => !float.IsFinite(v));
}
