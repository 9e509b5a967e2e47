using Embedded.Rnn.Safetensors;

namespace Embedded.Rnn.Import;

/// <summary>One imported tensor in PyTorch's name, shape and (for recurrent weights) gate order.</summary>
/// <param name="Name">The state_dict name: weight_ih_l{k}[_reverse], weight_hh_…, bias_ih_…, bias_hh_…, head.weight, head.bias.</param>
/// <param name="Shape">Its shape, row-major.</param>
/// <param name="Values">Its float32 values, row-major.</param>
public sealed record ImportedTensor(string Name, int[] Shape, float[] Values);

/// <summary>
/// A model read from another format: the spec it needs and its weights in PyTorch's names, which is what
/// <c>FromSafetensors</c> of a model generated from that spec loads.
/// </summary>
/// <param name="Spec">The spec (<see cref="ImportedSpec.ToJson"/> writes it).</param>
/// <param name="Tensors">Every parameter, in state_dict order (layer by layer, forward before reverse; the head last).</param>
public record ImportedModel(ImportedSpec Spec, IReadOnlyList<ImportedTensor> Tensors)
{
    /// <summary>The weights as a safetensors file (float32, PyTorch names), ready for <c>FromSafetensors</c>.</summary>
    public byte[] ToSafetensors(string producer)
    {
        var writer = new SafetensorsWriter().AddMetadata("format", "pt").AddMetadata("producer", producer);
        foreach (var tensor in Tensors)
        {
            writer.Add(tensor.Name, tensor.Values, tensor.Shape.Select(d => (long)d).ToArray());
        }

        return writer.ToArray();
    }
}

/// <summary>Checks both importers make on what they read.</summary>
internal static class ImportedValues
{
    /// <summary>
    /// The weights as read, refused when one is NaN or infinite (a float64 beyond float32's range included), naming the
    /// source's tensor: the model computes NaN or infinity with it, and Embedded.Rnn loads finite weights only.
    /// </summary>
    public static float[] Finite(float[] values, string what)
    {
        int at = Array.FindIndex(values, v => !float.IsFinite(v));
        return at < 0 ? values : throw new ImportException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{what} holds {values[at]} at index {at}; a model with a weight that is not finite cannot be imported"));
    }
}

/// <summary>A model the importer cannot read or does not support; the message names the node, input or attribute, and says why.</summary>
public sealed class ImportException : Exception
{
    /// <summary>An import error with its message.</summary>
    public ImportException(string message)
        : base(message)
    {
    }

    /// <summary>An import error caused by another exception (a malformed file).</summary>
    public ImportException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>An import error without details (prefer the constructors with a message).</summary>
    public ImportException()
        : base("the model cannot be imported")
    {
    }
}
