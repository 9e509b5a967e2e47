using Embedded.Rnn.Safetensors;

namespace Embedded.Rnn;

/// <summary>
/// Loads a model's parameters from a safetensors file by PyTorch <c>state_dict</c> name. Strict: a missing,
/// extra, misnamed, wrongly shaped or non-F32 tensor, or a NaN or infinite weight, throws
/// <see cref="SafetensorsException"/> naming the tensor and what was expected, because a silently mis-loaded model
/// computes plausible garbage (and one NaN weight makes every output NaN).
/// </summary>
public static class StateDictLoader
{
    /// <summary>Reads the tensors <paramref name="expected"/> names, in that order, refusing non-finite weights.</summary>
    /// <exception cref="SafetensorsException">The file's tensors differ from <paramref name="expected"/>, or one holds NaN or an infinity.</exception>
    public static float[][] Load(SafetensorsFile file, IReadOnlyList<ParameterSpec> expected) => Load(file, expected, SafetensorsLoadOptions.None);

    /// <summary>Reads the tensors <paramref name="expected"/> names, in that order.</summary>
    /// <param name="file">The parsed file.</param>
    /// <param name="expected">The model's parameters.</param>
    /// <param name="options"><see cref="SafetensorsLoadOptions.AllowNonFinite"/> lets NaN and infinite weights through.</param>
    /// <exception cref="SafetensorsException">The file's tensors differ from <paramref name="expected"/>, or (unless allowed) one holds NaN or an infinity.</exception>
    public static float[][] Load(SafetensorsFile file, IReadOnlyList<ParameterSpec> expected, SafetensorsLoadOptions options)
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

        if ((options & SafetensorsLoadOptions.AllowNonFinite) == 0)
        {
            CheckFinite(result, expected);
        }

        return result;
    }

    /// <summary>
    /// Checks that parameters in <paramref name="expected"/> order hold no NaN and no infinity, and returns them: the
    /// check every load runs, for weights that come from elsewhere than a file (a model's baked weights).
    /// </summary>
    /// <exception cref="SafetensorsException">A tensor holds a non-finite value: the message names the tensor, the first such index (flat and in the tensor's shape) and the value.</exception>
    /// <exception cref="ArgumentException">The tensors' count or lengths differ from <paramref name="expected"/>.</exception>
    public static IReadOnlyList<float[]> CheckFinite(IReadOnlyList<float[]> parameters, IReadOnlyList<ParameterSpec> expected)
    {
        RnnThrow.IfParametersMismatch(parameters, expected, nameof(parameters));
        for (int i = 0; i < parameters.Count; i++)
        {
            int index = NonFiniteValues.IndexOf(parameters[i]);
            if (index >= 0)
            {
                throw NonFiniteValues.Exception(expected[i].Name, expected[i].Shape.Select(d => (long)d).ToArray(), index, parameters[i][index]);
            }
        }

        return parameters;
    }

    private static string Quote(IEnumerable<string> names) => string.Join(", ", names.Select(n => $"'{n}'"));
}
