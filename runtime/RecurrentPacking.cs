namespace Embedded.Rnn;

/// <summary>
/// The order in which the generated kernels stream one layer's weights (or the dense head's), and the map
/// between it and PyTorch's row-major tensors. Output units are padded to whole vectors of <c>lanes</c>
/// and grouped in tiles of <c>chunksPerTile</c> vectors; for every tile the stream holds the bias vectors,
/// then for each input column the weight vectors of every (chunk, slot) that reads the input, then the
/// same for each recurrent column. A "slot" is one accumulator per chunk: the gate row block it takes from
/// <c>weight_ih</c> (or -1 for none) and from <c>weight_hh</c>. Padding gets zero weights and bias. The
/// generator's emitter writes the kernels that read this order; tests check the two agree.
/// </summary>
public sealed class RecurrentPacking
{
    // For each packed float, the index it comes from in each PyTorch tensor, or -1. A weight comes from one
    // tensor; a bias from bias_ih, bias_hh or both (their sum, which is all the forward pass needs).
    private readonly int[] _weightIh;
    private readonly int[] _weightHh;
    private readonly int[] _biasIh;
    private readonly int[] _biasHh;

    /// <summary>Builds the layout of one layer (or the dense head, with <paramref name="recurrentSize"/> 0).</summary>
    /// <param name="inputSize">Columns of weight_ih.</param>
    /// <param name="recurrentSize">Columns of weight_hh (the hidden size; 0 for a dense layer).</param>
    /// <param name="units">Rows per gate block (hidden size, or the dense output size).</param>
    /// <param name="lanes">Floats per vector of the target path (1 for scalar).</param>
    /// <param name="chunksPerTile">Vectors of units per tile.</param>
    /// <param name="inputBlocks">Per slot, the row block of weight_ih it accumulates, or -1.</param>
    /// <param name="recurrentBlocks">Per slot, the row block of weight_hh it accumulates, or -1.</param>
    public RecurrentPacking(int inputSize, int recurrentSize, int units, int lanes, int chunksPerTile,
        ReadOnlySpan<int> inputBlocks, ReadOnlySpan<int> recurrentBlocks)
    {
        int slots = inputBlocks.Length;
        int chunks = (units + lanes - 1) / lanes;
        int length = chunks * lanes * (slots + inputSize * Count(inputBlocks) + recurrentSize * Count(recurrentBlocks));
        _weightIh = Filled(length);
        _weightHh = Filled(length);
        _biasIh = Filled(length);
        _biasHh = Filled(length);
        int position = 0;
        for (int firstChunk = 0; firstChunk < chunks; firstChunk += chunksPerTile)
        {
            int tileChunks = Math.Min(chunksPerTile, chunks - firstChunk);
            for (int chunk = firstChunk; chunk < firstChunk + tileChunks; chunk++)
            {
                for (int slot = 0; slot < slots; slot++)
                {
                    for (int lane = 0; lane < lanes; lane++, position++)
                    {
                        int unit = chunk * lanes + lane;
                        if (unit < units)
                        {
                            _biasIh[position] = inputBlocks[slot] >= 0 ? inputBlocks[slot] * units + unit : -1;
                            _biasHh[position] = recurrentBlocks[slot] >= 0 ? recurrentBlocks[slot] * units + unit : -1;
                        }
                    }
                }
            }

            position = MapColumns(_weightIh, position, inputSize, units, lanes, firstChunk, tileChunks, inputBlocks);
            position = MapColumns(_weightHh, position, recurrentSize, units, lanes, firstChunk, tileChunks, recurrentBlocks);
        }
    }

    /// <summary>Number of floats in the packed stream.</summary>
    public int Length => _weightIh.Length;

    /// <summary>Packs PyTorch tensors into a new stream.</summary>
    /// <param name="weightIh">[gates·units, inputSize] row-major.</param>
    /// <param name="weightHh">[gates·units, recurrentSize] row-major (empty for a dense layer).</param>
    /// <param name="biasIh">[gates·units], or empty when the model has no bias.</param>
    /// <param name="biasHh">[gates·units], or empty.</param>
    public float[] Pack(ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh)
    {
        var packed = new float[Length];
        PackInto(packed, weightIh, weightHh, biasIh, biasHh);
        return packed;
    }

    /// <summary>Packs PyTorch tensors into an existing stream (as the trainer does after each update).</summary>
    public void PackInto(Span<float> packed, ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh)
    {
        if (packed.Length != Length)
        {
            throw new ArgumentException($"packed has length {packed.Length}; expected {Length}.", nameof(packed));
        }

        for (int p = 0; p < packed.Length; p++)
        {
            float value = 0f;
            if (_weightIh[p] >= 0)
            {
                value = weightIh[_weightIh[p]];
            }
            else if (_weightHh[p] >= 0)
            {
                value = weightHh[_weightHh[p]];
            }
            else if (biasIh.Length > 0)
            {
                value = (_biasIh[p] >= 0 ? biasIh[_biasIh[p]] : 0f) + (_biasHh[p] >= 0 ? biasHh[_biasHh[p]] : 0f);
            }

            packed[p] = value;
        }
    }

    /// <summary>
    /// Adds a gradient held in packed order to gradients in PyTorch layout. A packed bias feeds both
    /// bias_ih and bias_hh, so both receive its gradient, as in PyTorch.
    /// </summary>
    public void AccumulateGradient(ReadOnlySpan<float> packed, Span<float> weightIh, Span<float> weightHh, Span<float> biasIh, Span<float> biasHh)
    {
        for (int p = 0; p < packed.Length; p++)
        {
            float g = packed[p];
            if (_weightIh[p] >= 0)
            {
                weightIh[_weightIh[p]] += g;
            }
            else if (_weightHh[p] >= 0)
            {
                weightHh[_weightHh[p]] += g;
            }
            else if (biasIh.Length > 0)
            {
                if (_biasIh[p] >= 0)
                {
                    biasIh[_biasIh[p]] += g;
                }

                if (_biasHh[p] >= 0)
                {
                    biasHh[_biasHh[p]] += g;
                }
            }
        }
    }

    private static int MapColumns(int[] map, int position, int columns, int units, int lanes, int firstChunk, int tileChunks, ReadOnlySpan<int> blocks)
    {
        for (int column = 0; column < columns; column++)
        {
            for (int chunk = firstChunk; chunk < firstChunk + tileChunks; chunk++)
            {
                foreach (int block in blocks)
                {
                    if (block < 0)
                    {
                        continue;
                    }

                    for (int lane = 0; lane < lanes; lane++, position++)
                    {
                        int unit = chunk * lanes + lane;
                        if (unit < units)
                        {
                            map[position] = (block * units + unit) * columns + column;
                        }
                    }
                }
            }
        }

        return position;
    }

    private static int[] Filled(int length)
    {
        var array = new int[length];
        Array.Fill(array, -1);
        return array;
    }

    private static int Count(ReadOnlySpan<int> blocks)
    {
        int count = 0;
        foreach (int b in blocks)
        {
            count += b >= 0 ? 1 : 0;
        }

        return count;
    }
}
