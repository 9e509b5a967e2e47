namespace Embedded.Rnn;

/// <summary>
/// The map between PyTorch's row-major tensors and the packed stream of one layer (or of the dense head) on one path,
/// in <see cref="BlockLayout"/>'s order, which the generated tiles read. A slot is one accumulator per chunk: the gate
/// row block it takes from <c>weight_ih</c> (or -1 for none) and from <c>weight_hh</c>. Padding gets zero weights and bias.
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
    /// <param name="inputBlocks">Per slot, the row block of weight_ih it accumulates, or -1.</param>
    /// <param name="recurrentBlocks">Per slot, the row block of weight_hh it accumulates, or -1.</param>
    public RecurrentPacking(int inputSize, int recurrentSize, int units, int lanes, ReadOnlySpan<int> inputBlocks, ReadOnlySpan<int> recurrentBlocks)
    {
        var inputs = Reading(inputBlocks);
        var recurrents = Reading(recurrentBlocks);
        Layout = new BlockLayout(inputSize, recurrentSize, units, inputBlocks.Length, inputs.Length, recurrents.Length, lanes);
        int length = Layout.Length;
        _weightIh = Filled(length);
        _weightHh = Filled(length);
        _biasIh = Filled(length);
        _biasHh = Filled(length);
        for (int firstChunk = 0, tile = 0; firstChunk < Layout.Chunks; firstChunk += Layout.ChunksPerTile, tile++)
        {
            var tileLayout = Layout.Tile(Math.Min(Layout.ChunksPerTile, Layout.Chunks - firstChunk));
            int start = Layout.TileStart(tile);
            for (int chunk = 0; chunk < tileLayout.Chunks; chunk++)
            {
                for (int slot = 0; slot < inputBlocks.Length; slot++)
                {
                    MapLanes(_biasIh, start + tileLayout.Bias(chunk, slot), firstChunk + chunk, inputBlocks[slot], units, 1, 0);
                    MapLanes(_biasHh, start + tileLayout.Bias(chunk, slot), firstChunk + chunk, recurrentBlocks[slot], units, 1, 0);
                }

                for (int column = 0; column < inputSize; column++)
                {
                    for (int s = 0; s < inputs.Length; s++)
                    {
                        MapLanes(_weightIh, start + tileLayout.InputWeight(column, chunk, s), firstChunk + chunk, inputs[s], units, inputSize, column);
                    }
                }

                for (int column = 0; column < recurrentSize; column++)
                {
                    for (int s = 0; s < recurrents.Length; s++)
                    {
                        MapLanes(_weightHh, start + tileLayout.RecurrentWeight(column, chunk, s), firstChunk + chunk, recurrents[s], units, recurrentSize, column);
                    }
                }
            }
        }
    }

    /// <summary>The block's layout: chunks, tiles and offsets.</summary>
    public BlockLayout Layout { get; }

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
    /// <exception cref="ArgumentException"><paramref name="packed"/> is not <see cref="Length"/> floats long.</exception>
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
    /// <exception cref="ArgumentException"><paramref name="packed"/> is not <see cref="Length"/> floats long.</exception>
    public void AccumulateGradient(ReadOnlySpan<float> packed, Span<float> weightIh, Span<float> weightHh, Span<float> biasIh, Span<float> biasHh)
    {
        if (packed.Length != Length)
        {
            throw new ArgumentException($"packed has length {packed.Length}; expected {Length}.", nameof(packed));
        }

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

    // The lanes of one vector at position: unit u of the chunk maps to element (block·units + u)·columns + column of a
    // row-major tensor; lanes past the last unit (padding) stay -1.
    private void MapLanes(int[] map, int position, int chunk, int block, int units, int columns, int column)
    {
        if (block < 0)
        {
            return;
        }

        for (int lane = 0; lane < Layout.Lanes; lane++)
        {
            int unit = chunk * Layout.Lanes + lane;
            if (unit < units)
            {
                map[position + lane] = (block * units + unit) * columns + column;
            }
        }
    }

    // The row blocks of the slots that read a source, in slot order (as the tile reads them).
    private static int[] Reading(ReadOnlySpan<int> blocks)
    {
        var reading = new List<int>(blocks.Length);
        foreach (int block in blocks)
        {
            if (block >= 0)
            {
                reading.Add(block);
            }
        }

        return [.. reading];
    }

    private static int[] Filled(int length)
    {
        var array = new int[length];
        Array.Fill(array, -1);
        return array;
    }
}
