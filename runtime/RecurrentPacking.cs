using System.Buffers;
using System.Runtime.InteropServices;

namespace Embedded.Rnn;

/// <summary>
/// The map between PyTorch's row-major tensors and the packed stream of one layer (or of the dense head) on one path,
/// in <see cref="BlockLayout"/>'s order, which the generated tiles read. A slot is one accumulator per chunk: the gate
/// row block it takes from <c>weight_ih</c> (or -1 for none) and from <c>weight_hh</c>. Padding gets zero weights and bias.
/// Weights are stored as the layout's <see cref="WeightStorage"/> (converted by <see cref="WeightQuantization"/>); the
/// tiles' headers (biases, and int8 scales) are float32 whatever the storage.
/// </summary>
public sealed class RecurrentPacking
{
    // For each stored weight, the index it comes from in each PyTorch tensor, or -1. A weight comes from one tensor; a
    // header's bias (mapped at its float's first weight) from bias_ih, bias_hh or both (their sum, which is all the forward
    // pass needs). A bias's index is also its gate row, which gives an int8 header its rows' scales.
    private readonly int[] _weightIh;
    private readonly int[] _weightHh;
    private readonly int[] _biasIh;
    private readonly int[] _biasHh;
    private readonly int _weightsPerFloat;

    /// <summary>Builds the layout of one layer (or the dense head, with <paramref name="recurrentSize"/> 0).</summary>
    /// <param name="inputSize">Columns of weight_ih.</param>
    /// <param name="recurrentSize">Columns of weight_hh (the hidden size; 0 for a dense layer).</param>
    /// <param name="units">Rows per gate block (hidden size, or the dense output size).</param>
    /// <param name="lanes">Floats per vector of the target path (1 for scalar).</param>
    /// <param name="inputBlocks">Per slot, the row block of weight_ih it accumulates, or -1.</param>
    /// <param name="recurrentBlocks">Per slot, the row block of weight_hh it accumulates, or -1.</param>
    public RecurrentPacking(int inputSize, int recurrentSize, int units, int lanes, ReadOnlySpan<int> inputBlocks, ReadOnlySpan<int> recurrentBlocks)
        : this(inputSize, recurrentSize, units, lanes, inputBlocks, recurrentBlocks, default)
    {
    }

    /// <summary>
    /// Builds the layout of a layer whose step takes several passes over its weights (the reset-before GRU: the candidate's
    /// recurrent product reads r ⊙ h, known only after a first pass). Each pass is a block of its own, in pass order; a
    /// pass after the first reads no input columns, only a vector of <paramref name="recurrentSize"/> the cell computes.
    /// </summary>
    /// <param name="inputSize">Columns of weight_ih.</param>
    /// <param name="recurrentSize">Columns of weight_hh.</param>
    /// <param name="units">Rows per gate block.</param>
    /// <param name="lanes">Floats per vector of the target path (1 for scalar).</param>
    /// <param name="inputBlocks">Per slot, the row block of weight_ih it accumulates, or -1.</param>
    /// <param name="recurrentBlocks">Per slot, the row block of weight_hh it accumulates, or -1.</param>
    /// <param name="passes">Per slot, the pass (0, 1, ...) that computes it; empty: every slot in pass 0.</param>
    /// <exception cref="ArgumentException">The slot lists differ in length, a pass is negative or has no slots, or a later pass reads weight_ih.</exception>
    /// <param name="storage">How the weights are stored.</param>
    public RecurrentPacking(int inputSize, int recurrentSize, int units, int lanes, ReadOnlySpan<int> inputBlocks, ReadOnlySpan<int> recurrentBlocks, ReadOnlySpan<int> passes,
        WeightStorage storage = WeightStorage.Float32)
    {
        if (recurrentBlocks.Length != inputBlocks.Length || (!passes.IsEmpty && passes.Length != inputBlocks.Length))
        {
            throw new ArgumentException("inputBlocks, recurrentBlocks and passes give one entry per slot.", nameof(recurrentBlocks));
        }

        int passCount = 1;
        foreach (int pass in passes)
        {
            if (pass < 0)
            {
                throw new ArgumentException($"passes holds {pass}; passes count from 0.", nameof(passes));
            }

            passCount = Math.Max(passCount, pass + 1);
        }

        var layouts = new BlockLayout[passCount];
        var slotsOf = new (int[] Input, int[] Recurrent)[passCount];
        for (int pass = 0; pass < passCount; pass++)
        {
            var input = new List<int>();
            var recurrent = new List<int>();
            for (int slot = 0; slot < inputBlocks.Length; slot++)
            {
                if ((passes.IsEmpty ? 0 : passes[slot]) == pass)
                {
                    input.Add(inputBlocks[slot]);
                    recurrent.Add(recurrentBlocks[slot]);
                }
            }

            if (input.Count == 0 || (pass > 0 && input.Exists(block => block >= 0)))
            {
                throw new ArgumentException($"pass {pass} has no slots, or reads weight_ih after the first pass.", nameof(passes));
            }

            slotsOf[pass] = ([.. input], [.. recurrent]);
            layouts[pass] = new BlockLayout(pass == 0 ? inputSize : 0, recurrentSize, units, input.Count,
                Reading(slotsOf[pass].Input).Length, Reading(slotsOf[pass].Recurrent).Length, lanes, storage);
        }

        Storage = storage;
        _weightsPerFloat = KernelLayout.WeightsPerFloat(storage);
        Passes = layouts;
        int length = KernelLayout.PassStart(layouts, passCount);

        _weightIh = Filled(length);
        _weightHh = Filled(length);
        _biasIh = Filled(length);
        _biasHh = Filled(length);
        for (int pass = 0; pass < passCount; pass++)
        {
            MapPass(layouts[pass], KernelLayout.PassStart(layouts, pass), slotsOf[pass].Input, slotsOf[pass].Recurrent);
        }
    }

    // One pass's block, from start: every tile's biases, input columns and recurrent columns.
    private void MapPass(BlockLayout layout, int passStart, int[] inputBlocks, int[] recurrentBlocks)
    {
        var inputs = Reading(inputBlocks);
        var recurrents = Reading(recurrentBlocks);
        int units = layout.Units, lanes = layout.Lanes, laneStep = KernelLayout.LaneStep(layout.Storage);
        for (int firstChunk = 0, tile = 0; firstChunk < layout.Chunks; firstChunk += layout.ChunksPerTile, tile++)
        {
            var tileLayout = layout.Tile(Math.Min(layout.ChunksPerTile, layout.Chunks - firstChunk));
            int start = passStart + layout.TileStart(tile);
            for (int chunk = 0; chunk < tileLayout.Chunks; chunk++)
            {
                for (int slot = 0; slot < inputBlocks.Length; slot++)
                {
                    int bias = start + tileLayout.Bias(chunk, slot) * _weightsPerFloat;
                    MapLanes(_biasIh, bias, lanes, firstChunk + chunk, inputBlocks[slot], units, 1, 0, _weightsPerFloat);
                    MapLanes(_biasHh, bias, lanes, firstChunk + chunk, recurrentBlocks[slot], units, 1, 0, _weightsPerFloat);
                }

                for (int column = 0; column < layout.InputSize; column++)
                {
                    for (int s = 0; s < inputs.Length; s++)
                    {
                        MapLanes(_weightIh, start + tileLayout.InputWeight(column, chunk, s), lanes, firstChunk + chunk, inputs[s], units, layout.InputSize, column, laneStep);
                    }
                }

                for (int column = 0; column < layout.RecurrentSize; column++)
                {
                    for (int s = 0; s < recurrents.Length; s++)
                    {
                        MapLanes(_weightHh, start + tileLayout.RecurrentWeight(column, chunk, s), lanes, firstChunk + chunk, recurrents[s], units, layout.RecurrentSize, column, laneStep);
                    }
                }
            }
        }
    }

    /// <summary>The block's layout (its first pass's): chunks, tiles and offsets.</summary>
    public BlockLayout Layout => Passes[0];

    /// <summary>The layout of each pass, in the order the packed stream holds them.</summary>
    public IReadOnlyList<BlockLayout> Passes { get; }

    /// <summary>How the weights are stored.</summary>
    public WeightStorage Storage { get; }

    /// <summary>Floats the packed stream takes (its stored weights and its float32 headers).</summary>
    public int Length => _weightIh.Length / _weightsPerFloat;

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

        switch (Storage)
        {
            case WeightStorage.Float32:
                for (int p = 0; p < packed.Length; p++)
                {
                    packed[p] = _weightIh[p] >= 0 ? weightIh[_weightIh[p]]
                        : _weightHh[p] >= 0 ? weightHh[_weightHh[p]]
                        : Bias(p, biasIh, biasHh);
                }

                break;
            case WeightStorage.BFloat16:
                var stored = MemoryMarshal.Cast<float, ushort>(packed);
                for (int p = 0; p < stored.Length; p++)
                {
                    stored[p] = _weightIh[p] >= 0 ? WeightQuantization.ToBFloat16(weightIh[_weightIh[p]])
                        : _weightHh[p] >= 0 ? WeightQuantization.ToBFloat16(weightHh[_weightHh[p]])
                        : (ushort)0;
                }

                // Headers last: a float32 bias takes the place of two weights, which the loop above zeroed.
                for (int p = 0; p < stored.Length; p += 2)
                {
                    if (_biasIh[p] >= 0 || _biasHh[p] >= 0)
                    {
                        packed[p / 2] = Bias(p, biasIh, biasHh);
                    }
                }

                break;
            default:
                PackInt8(packed, weightIh, weightHh, biasIh, biasHh);
                break;
        }
    }

    // Int8: each row of weight_ih and of weight_hh gets its scale (WeightQuantization.RowScale). A header keeps per lane
    // b / s_hh, s_ih / s_hh and s_hh, so that a tile computes ((Σ q_ih·x)·(s_ih / s_hh) + b / s_hh + Σ q_hh·h)·s_hh with
    // no more work per column than float32 weights (s_hh is 1 for a slot that reads no state, s_ih 0 for one that reads
    // no input).
    private void PackInt8(Span<float> packed, ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh)
    {
        int inputSize = Layout.InputSize, recurrentSize = Layout.RecurrentSize, lanes = Layout.Lanes;
        int rowsIh = inputSize == 0 ? 0 : weightIh.Length / inputSize, rowsHh = recurrentSize == 0 ? 0 : weightHh.Length / recurrentSize;
        float[] scales = ArrayPool<float>.Shared.Rent(rowsIh + rowsHh);
        try
        {
            var scaleIh = scales.AsSpan(0, rowsIh);
            var scaleHh = scales.AsSpan(rowsIh, rowsHh);
            for (int row = 0; row < rowsIh; row++)
            {
                scaleIh[row] = WeightQuantization.RowScale(weightIh.Slice(row * inputSize, inputSize));
            }

            for (int row = 0; row < rowsHh; row++)
            {
                scaleHh[row] = WeightQuantization.RowScale(weightHh.Slice(row * recurrentSize, recurrentSize));
            }

            RaiseRecurrentScales(scaleIh, scaleHh, biasIh, biasHh);

            // Held as 16 bits: the bfloat16 of each integer, which is exact (WeightStorage.Int8).
            var stored = MemoryMarshal.Cast<float, ushort>(packed);
            for (int p = 0; p < stored.Length; p++)
            {
                sbyte q = _weightIh[p] >= 0 ? WeightQuantization.ToInt8(weightIh[_weightIh[p]], scaleIh[_weightIh[p] / inputSize])
                    : _weightHh[p] >= 0 ? WeightQuantization.ToInt8(weightHh[_weightHh[p]], scaleHh[_weightHh[p] / recurrentSize])
                    : (sbyte)0;
                stored[p] = WeightQuantization.ToBFloat16(q);
            }

            for (int p = 0; p < stored.Length; p += 2)
            {
                int rowIh = _biasIh[p], rowHh = _biasHh[p];
                if (rowIh < 0 && rowHh < 0)
                {
                    continue;
                }

                float input = rowIh >= 0 ? scaleIh[rowIh] : 0f;
                float recurrent = rowHh >= 0 ? scaleHh[rowHh] : 1f;
                int header = p / 2;
                packed[header] = Bias(p, biasIh, biasHh) / recurrent;
                packed[header + lanes] = input / recurrent;
                packed[header + 2 * lanes] = recurrent;
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scales);
        }
    }

    // The header divides a slot's bias and input scale by its recurrent row's scale. A recurrent row far smaller than
    // those (weights of 1e-35 beside a bias of 1000, say) overflowed float32 there, and the step computed with an
    // infinity. Its scale is raised to 2^-40 of the larger of the bias and the input row's largest weight, so both
    // quotients stay at most 2^40. The row then rounds to fewer levels: at most 2^-41 of that bias or weight per
    // recurrent weight, H · 2^-41 over the row for |h| ≤ 1, less than one float32 rounding of it for H below 2^17
    // (QuantisedWeightsTests). A bias that is not finite raises nothing: the step computes with it as the float32 model
    // does.
    private void RaiseRecurrentScales(ReadOnlySpan<float> scaleIh, Span<float> scaleHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh)
    {
        const float Margin = 1f / (1L << 40);
        for (int p = 0; p < _biasHh.Length; p += 2)
        {
            int rowIh = _biasIh[p], rowHh = _biasHh[p];
            if (rowHh < 0)
            {
                continue;
            }

            float input = rowIh >= 0 ? WeightQuantization.Int8Limit * scaleIh[rowIh] : 0f;
            float floor = MathF.Max(MathF.Abs(Bias(p, biasIh, biasHh)), input) * Margin;
            if (floor > scaleHh[rowHh] && float.IsFinite(floor))
            {
                scaleHh[rowHh] = floor;
            }
        }
    }

    // The packed bias at weight position p: bias_ih + bias_hh of the rows it adds (0 without biases or in padding).
    private float Bias(int p, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh) =>
        biasIh.Length == 0 ? 0f : (_biasIh[p] >= 0 ? biasIh[_biasIh[p]] : 0f) + (_biasHh[p] >= 0 ? biasHh[_biasHh[p]] : 0f);

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

        if (Storage != WeightStorage.Float32)
        {
            throw new NotSupportedException($"gradients are float32-packed; this packing stores {Storage} weights (train in float32, then quantise).");
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
    // A header's lanes are floats, weightsPerFloat stored weights apart; paired columns' lanes are 2 apart.
    private static void MapLanes(int[] map, int position, int lanes, int chunk, int block, int units, int columns, int column, int stride = 1)
    {
        if (block < 0)
        {
            return;
        }

        for (int lane = 0; lane < lanes; lane++)
        {
            int unit = chunk * lanes + lane;
            if (unit < units)
            {
                map[position + lane * stride] = (block * units + unit) * columns + column;
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
