namespace Embedded.Rnn;

/// <summary>
/// Packs PyTorch row-major weights into the stream the generated kernels read. Output units are padded to
/// whole vectors of <c>lanes</c> and grouped in tiles of <c>chunksPerTile</c> vectors; for every tile the
/// stream holds the bias vectors, then for each input column the weight vectors of every (chunk, slot)
/// that reads the input, then the same for each recurrent column. A "slot" is one accumulator per chunk:
/// the gate row block it takes from <c>weight_ih</c> (or -1 for none) and from <c>weight_hh</c>. Padded
/// units get zero weights and bias. The generator emits the kernels that read this layout; one concept,
/// described once here and once in the emitter's <c>TileEmitter</c>.
/// </summary>
public static class RecurrentPacking
{
    /// <summary>Number of floats <see cref="Pack"/> produces.</summary>
    public static int PackedLength(int inputSize, int recurrentSize, int units, int lanes,
        ReadOnlySpan<int> inputBlocks, ReadOnlySpan<int> recurrentBlocks)
    {
        int chunks = (units + lanes - 1) / lanes;
        int perChunk = inputBlocks.Length + inputSize * Count(inputBlocks) + recurrentSize * Count(recurrentBlocks);
        return chunks * perChunk * lanes;
    }

    /// <summary>Packs one layer (or the dense head, with <paramref name="recurrentSize"/> 0).</summary>
    /// <param name="inputSize">Columns of <paramref name="weightIh"/>.</param>
    /// <param name="recurrentSize">Columns of <paramref name="weightHh"/> (the hidden size; 0 for a dense layer).</param>
    /// <param name="units">Rows per gate block (hidden size, or the dense output size).</param>
    /// <param name="lanes">Floats per vector of the target path (1 for scalar).</param>
    /// <param name="chunksPerTile">Vectors of units per tile.</param>
    /// <param name="weightIh">[gates·units, inputSize] row-major.</param>
    /// <param name="weightHh">[gates·units, recurrentSize] row-major (empty for a dense layer).</param>
    /// <param name="biasIh">[gates·units], or empty when the model has no bias.</param>
    /// <param name="biasHh">[gates·units], or empty.</param>
    /// <param name="inputBlocks">Per slot, the row block of weight_ih it accumulates, or -1.</param>
    /// <param name="recurrentBlocks">Per slot, the row block of weight_hh it accumulates, or -1.</param>
    public static float[] Pack(int inputSize, int recurrentSize, int units, int lanes, int chunksPerTile,
        ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh,
        ReadOnlySpan<int> inputBlocks, ReadOnlySpan<int> recurrentBlocks)
    {
        int slots = inputBlocks.Length;
        int chunks = (units + lanes - 1) / lanes;
        var packed = new float[PackedLength(inputSize, recurrentSize, units, lanes, inputBlocks, recurrentBlocks)];
        int position = 0;
        for (int firstChunk = 0; firstChunk < chunks; firstChunk += chunksPerTile)
        {
            int tileChunks = Math.Min(chunksPerTile, chunks - firstChunk);
            for (int chunk = firstChunk; chunk < firstChunk + tileChunks; chunk++)
            {
                for (int slot = 0; slot < slots; slot++)
                {
                    for (int lane = 0; lane < lanes; lane++)
                    {
                        int unit = chunk * lanes + lane;
                        float bias = 0f;
                        if (unit < units && biasIh.Length > 0)
                        {
                            bias = (inputBlocks[slot] >= 0 ? biasIh[inputBlocks[slot] * units + unit] : 0f)
                                 + (recurrentBlocks[slot] >= 0 ? biasHh[recurrentBlocks[slot] * units + unit] : 0f);
                        }

                        packed[position++] = bias;
                    }
                }
            }

            position = PackColumns(packed, position, inputSize, units, lanes, firstChunk, tileChunks, weightIh, inputBlocks);
            position = PackColumns(packed, position, recurrentSize, units, lanes, firstChunk, tileChunks, weightHh, recurrentBlocks);
        }

        return packed;
    }

    private static int PackColumns(float[] packed, int position, int columns, int units, int lanes, int firstChunk, int tileChunks,
        ReadOnlySpan<float> weight, ReadOnlySpan<int> blocks)
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

                    for (int lane = 0; lane < lanes; lane++)
                    {
                        int unit = chunk * lanes + lane;
                        packed[position++] = unit < units ? weight[(block * units + unit) * columns + column] : 0f;
                    }
                }
            }
        }

        return position;
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
