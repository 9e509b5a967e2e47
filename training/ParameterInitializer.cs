namespace Embedded.Rnn.Training;

/// <summary>
/// Fresh weights as PyTorch initialises nn.RNN/LSTM/GRU and nn.Linear: uniform in ±1/√fan, where fan is the
/// hidden size (the head's input size, DirectionCount × HiddenSize, for the head), drawn in ParameterSpecs order
/// from one <see cref="DeterministicRandom"/> stream of the seed.
/// </summary>
internal static class ParameterInitializer
{
    public static float[][] PyTorchUniform(RnnShape shape, IReadOnlyList<ParameterSpec> parameters, ulong seed)
    {
        var random = new DeterministicRandom(seed, RandomStreams.Initialisation);
        return parameters.Select(spec =>
        {
            float bound = spec.Name.StartsWith("head.", StringComparison.Ordinal)
                ? 1f / MathF.Sqrt(shape.DirectionCount * shape.HiddenSize)
                : 1f / MathF.Sqrt(shape.HiddenSize);
            var values = new float[spec.ElementCount];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = (random.NextSingle() * 2f - 1f) * bound;
            }

            return values;
        }).ToArray();
    }
}
