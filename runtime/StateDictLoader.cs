using Embedded.Rnn.Safetensors;

namespace Embedded.Rnn;

/// <summary>
/// Loads a model's parameters from a safetensors file by PyTorch <c>state_dict</c> name. Strict: a missing,
/// extra, misnamed, wrongly shaped or non-F32 tensor throws <see cref="SafetensorsException"/> naming the
/// tensor and what was expected, because a silently mis-loaded model computes plausible garbage.
/// </summary>
public static class StateDictLoader
{
    /// <summary>Reads the tensors <paramref name="expected"/> names, in that order.</summary>
    /// <exception cref="SafetensorsException">The file's tensors differ from <paramref name="expected"/>.</exception>
    public static float[][] Load(SafetensorsFile file, IReadOnlyList<ParameterSpec> expected)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(expected);
        var expectedNames = new HashSet<string>(expected.Select(p => p.Name), StringComparer.Ordinal);
        var extras = file.Tensors.Where(t => !expectedNames.Contains(t.Name)).Select(t => t.Name).ToList();
        var result = new float[expected.Count][];
        for (int i = 0; i < expected.Count; i++)
        {
            var spec = expected[i];
            if (!file.Contains(spec.Name))
            {
                string hint = extras.Count > 0 ? $" The file has tensors the model does not expect: {Quote(extras)} (misnamed?)." : string.Empty;
                throw new SafetensorsException($"tensor '{spec.Name}' is missing: expected F32 {spec.ShapeText}.{hint}");
            }

            var tensor = file.GetTensor(spec.Name);
            if (tensor.DType != SafetensorsDType.F32)
            {
                throw new SafetensorsException($"tensor '{spec.Name}' has dtype {SafetensorsDTypes.Name(tensor.DType)}; expected F32 {spec.ShapeText}.");
            }

            if (!tensor.Shape.SequenceEqual(spec.Shape.Select(d => (long)d)))
            {
                throw new SafetensorsException($"tensor '{spec.Name}' has shape {tensor.ShapeText}; expected {spec.ShapeText}.");
            }

            result[i] = file.ReadAsSingle(spec.Name);
        }

        if (extras.Count > 0)
        {
            throw new SafetensorsException($"tensor '{extras[0]}' is not a parameter of this model (extra tensors: {Quote(extras)}). Expected exactly: {Quote(expected.Select(p => p.Name))}.");
        }

        return result;
    }

    private static string Quote(IEnumerable<string> names) => string.Join(", ", names.Select(n => $"'{n}'"));
}
