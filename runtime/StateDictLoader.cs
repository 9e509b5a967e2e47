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
    public static float[][] Load(SafetensorsFile file, IReadOnlyList<ParameterSpec> expected, SafetensorsLoadOptions options) =>
        Load(file, expected, WeightStorage.Float32, options);

    /// <summary>
    /// Reads the tensors <paramref name="expected"/> names, in that order, for a model that stores its weights as
    /// <paramref name="storage"/>: float32 tensors, or the weight matrices as stored (<see cref="WeightQuantization.StoredFile"/>:
    /// BF16, or I8 with a <c>.scale</c> tensor of row scales), which load as the float32 values they stand for.
    /// </summary>
    /// <param name="file">The parsed file.</param>
    /// <param name="expected">The model's parameters.</param>
    /// <param name="storage">How the model stores its weights: which narrow dtype its weight matrices may come in.</param>
    /// <param name="options"><see cref="SafetensorsLoadOptions.AllowNonFinite"/> lets NaN and infinite weights through.</param>
    /// <exception cref="SafetensorsException">The file's tensors differ from <paramref name="expected"/> (an int8 matrix's rows must
    /// follow <see cref="WeightQuantization.RowScale"/>), or (unless allowed) one holds NaN or an infinity.</exception>
    public static float[][] Load(SafetensorsFile file, IReadOnlyList<ParameterSpec> expected, WeightStorage storage, SafetensorsLoadOptions options = SafetensorsLoadOptions.None)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(expected);
        var expectedNames = new HashSet<string>(expected.Select(p => p.Name), StringComparer.Ordinal);
        // An int8 matrix stored as I8 brings its row scales.
        foreach (var spec in expected)
        {
            if (storage == WeightStorage.Int8 && file.Contains(spec.Name) && file.GetTensor(spec.Name).DType == SafetensorsDType.I8)
            {
                expectedNames.Add(spec.Name + WeightQuantization.ScaleSuffix);
            }
        }

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
            var stored = storage switch
            {
                WeightStorage.BFloat16 when WeightQuantization.IsWeightMatrix(spec) => SafetensorsDType.BF16,
                WeightStorage.Int8 when WeightQuantization.IsWeightMatrix(spec) => SafetensorsDType.I8,
                _ => SafetensorsDType.F32,
            };
            if (tensor.DType != SafetensorsDType.F32 && tensor.DType != stored)
            {
                string alternative = stored == SafetensorsDType.F32 ? string.Empty : $" (or {SafetensorsDTypes.Name(stored)}, as this model stores it)";
                throw new SafetensorsException($"tensor '{spec.Name}' has dtype {SafetensorsDTypes.Name(tensor.DType)}; expected F32{alternative} {spec.ShapeText}.");
            }

            if (!tensor.Shape.SequenceEqual(spec.Shape.Select(d => (long)d)))
            {
                throw new SafetensorsException($"tensor '{spec.Name}' has shape {tensor.ShapeText}; expected {spec.ShapeText}.");
            }

            result[i] = file.ReadAsSingle(spec.Name);
            if (tensor.DType == SafetensorsDType.I8)
            {
                ApplyRowScales(file, spec, result[i]);
            }
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

    // An I8 matrix times its rows' scales (tensor NAME.scale, F32, one per row), refusing rows that do not follow
    // WeightQuantization.RowScale (largest |q| 127, or all zero): the packing re-derives each scale from the values, so
    // only such rows load exactly as stored.
    private static void ApplyRowScales(SafetensorsFile file, ParameterSpec spec, float[] values)
    {
        string name = spec.Name + WeightQuantization.ScaleSuffix;
        int rows = spec.Shape[0], columns = spec.Shape[1];
        if (!file.Contains(name))
        {
            throw new SafetensorsException($"tensor '{spec.Name}' is I8 but '{name}' is missing: expected F32 [{rows}], one scale per row.");
        }

        var tensor = file.GetTensor(name);
        if (tensor.DType != SafetensorsDType.F32 || tensor.Shape.Count != 1 || tensor.Shape[0] != rows)
        {
            throw new SafetensorsException($"tensor '{name}' is {SafetensorsDTypes.Name(tensor.DType)} {tensor.ShapeText}; expected F32 [{rows}], one scale per row of '{spec.Name}'.");
        }

        var scales = file.ReadAsSingle(name);
        for (int row = 0; row < rows; row++)
        {
            var q = values.AsSpan(row * columns, columns);
            float largest = 0;
            foreach (float v in q)
            {
                largest = Math.Max(largest, Math.Abs(v));
            }

            if (!(float.IsFinite(scales[row]) && scales[row] > 0) || (largest != WeightQuantization.Int8Limit && largest != 0))
            {
                throw new SafetensorsException($"row {row} of '{spec.Name}' has largest |q| {largest} and scale {scales[row]}: Embedded.Rnn's int8 rows "
                    + $"reach ±{WeightQuantization.Int8Limit} with a positive scale (WeightQuantization.RowScale); write the file with WeightQuantization.StoredFile from float32 weights.");
            }

            for (int j = 0; j < columns; j++)
            {
                q[j] *= scales[row];
            }
        }
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
