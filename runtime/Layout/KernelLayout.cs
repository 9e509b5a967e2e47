// Layout facts that the generator (which emits kernels assuming them) and the runtime (which packs weights and sizes
// buffers for them) must agree on. This file is compiled into both: the generator links it, in its own namespace so
// that code seeing both assemblies (the tests) finds no ambiguity. Each fact has this one owner. The layout types are
// public for generated code and the trainer, not for applications (hidden from IntelliSense; they may change).
#if EMBEDDED_RNN_GENERATOR
namespace Embedded.Rnn.Generator.Layout;
#else
namespace Embedded.Rnn;
#endif

/// <summary>The instruction-set path a generated model runs on. Every model is generated for all of them.</summary>
public enum KernelPath
{
    /// <summary>Portable scalar code; also the path of targets without SIMD.</summary>
    Scalar = 0,
    /// <summary>128-bit vectors: SSE on x64, AdvSimd (NEON) on Arm64.</summary>
    Vector128 = 1,
    /// <summary>256-bit vectors: AVX2 + FMA.</summary>
    Vector256 = 2,
    /// <summary>512-bit vectors: AVX-512.</summary>
    Vector512 = 3,
}

/// <summary>How a model stores its weights once packed. Part of the packed layout: a tile's load step reads this type.</summary>
public enum WeightStorage
{
    /// <summary>IEEE single precision, as PyTorch trains them.</summary>
    Float32 = 0,
    /// <summary>bfloat16 (float32's upper 16 bits, rounded to nearest even): half the bytes, 8 significant bits.</summary>
    BFloat16 = 1,
    /// <summary>
    /// Signed 8-bit integers, symmetric, with one float32 scale per row of each weight matrix (its largest magnitude / 127).
    /// Biases stay float32. Held in memory as 16-bit values (exactly, in bfloat16's column pairs), because widening one byte
    /// per lane costs the kernels more than the bytes it saves (bench/RESULTS.md).
    /// </summary>
    Int8 = 2,
}

/// <summary>Sizes and paddings every generated kernel and every runtime buffer follows.</summary>
public static class KernelLayout
{
    /// <summary>The paths, widest first: the order in which the default path is chosen and kernels are emitted.</summary>
    public static readonly KernelPath[] WidestFirst = { KernelPath.Vector512, KernelPath.Vector256, KernelPath.Vector128, KernelPath.Scalar };

    /// <summary>
    /// Floats per state buffer are padded to a multiple of this: the widest path's lanes, so every path loads and
    /// stores whole vectors. The padding stays zero.
    /// </summary>
    public const int StatePadding = 16;

    /// <summary>The spec's name of a storage type (its <c>"precision"</c>): <c>f32</c>, <c>bf16</c> or <c>int8</c>.</summary>
    public static string PrecisionName(WeightStorage storage) => storage switch
    {
        WeightStorage.Float32 => "f32",
        WeightStorage.BFloat16 => "bf16",
        WeightStorage.Int8 => "int8",
        _ => throw new System.ArgumentOutOfRangeException(nameof(storage)),
    };

    /// <summary>The storage type a spec's <c>"precision"</c> names, if it names one (<see cref="PrecisionName"/>).</summary>
    public static bool TryParsePrecision(string? name, out WeightStorage storage)
    {
        foreach (var candidate in new[] { WeightStorage.Float32, WeightStorage.BFloat16, WeightStorage.Int8 })
        {
            if (name == PrecisionName(candidate))
            {
                storage = candidate;
                return true;
            }
        }

        storage = WeightStorage.Float32;
        return false;
    }

    /// <summary>Stored weights that take the bytes of one float: 1 for float32, 2 for bfloat16 and int8 (held as 16 bits).</summary>
    public static int WeightsPerFloat(WeightStorage storage) => storage switch
    {
        WeightStorage.Float32 => 1,
        WeightStorage.BFloat16 or WeightStorage.Int8 => 2,
        _ => throw new System.ArgumentOutOfRangeException(nameof(storage)),
    };

    /// <summary>
    /// Whether columns are stored in pairs: 16-bit weights (bfloat16, or int8 values as bfloat16, which holds them exactly) of
    /// columns 2m and 2m + 1 share each 32-bit lane (2m's in the low half), so one load gives both columns' vectors for one
    /// shift or one mask each, where widening a lone vector takes a shuffle and a shift. An odd last column is paired with
    /// zeros.
    /// </summary>
    public static bool PairsColumns(WeightStorage storage) => storage != WeightStorage.Float32;

    /// <summary>
    /// Where a tile loads vector <paramref name="vector"/> (the (chunk, slot) order of a column) of column
    /// <paramref name="column"/> from, in stored weights from its section's start (<paramref name="stride"/> is the
    /// section's column stride): the vector's first weight, or with paired columns the start of the pair's block, whose
    /// low or high halves the column's parity picks.
    /// </summary>
    public static int ColumnVector(WeightStorage storage, int column, int vector, int stride, int lanes) =>
        PairsColumns(storage) ? (column - column % 2) * stride + 2 * vector * lanes : column * stride + vector * lanes;

    /// <summary>
    /// Where the first weight of that vector is (<see cref="ColumnVector"/>, plus 1 for the odd column of a pair); with
    /// paired columns its lanes are every other weight from there (<see cref="LaneStep"/>).
    /// </summary>
    public static int ColumnWeight(WeightStorage storage, int column, int vector, int stride, int lanes) =>
        ColumnVector(storage, column, vector, stride, lanes) + (PairsColumns(storage) ? column % 2 : 0);

    /// <summary>Stored weights from one lane of a weight vector to the next: 2 with paired columns, else 1.</summary>
    public static int LaneStep(WeightStorage storage) => PairsColumns(storage) ? 2 : 1;

    /// <summary>Columns a section takes room for: an odd count is rounded up when columns are paired.</summary>
    public static int SectionColumns(WeightStorage storage, int columns) => PairsColumns(storage) ? columns + columns % 2 : columns;

    /// <summary>
    /// Float vectors a tile's header keeps per (chunk, slot): the bias; with int8 weights also the input columns' scale and
    /// the recurrent columns' scale (<see cref="TileLayout"/>).
    /// </summary>
    public static int HeaderVectors(WeightStorage storage) => storage == WeightStorage.Int8 ? 3 : 1;

    /// <summary>Accumulators a tile keeps live: enough independent FMA chains to hide latency, few enough for 16 registers.</summary>
    public const int TargetAccumulators = 8;

    /// <summary>The dense head's one accumulator reads a row block of head.weight (its weight_ih: block 0)...</summary>
    public const int HeadInputBlock = 0;

    /// <summary>...and has no recurrent part (-1).</summary>
    public const int HeadRecurrentBlock = -1;

    /// <summary>Input columns of <paramref name="layer"/>: the model's input for layer 0, the layer below's output (every direction's h) after.</summary>
    public static int LayerInput(int layer, int inputSize, int hiddenSize, int directions) => layer == 0 ? inputSize : directions * hiddenSize;

    /// <summary>Floats one vector of <paramref name="path"/> holds (1 for scalar).</summary>
    public static int Lanes(KernelPath path) => path switch
    {
        KernelPath.Vector512 => 16,
        KernelPath.Vector256 => 8,
        KernelPath.Vector128 => 4,
        KernelPath.Scalar => 1,
        _ => throw new System.ArgumentOutOfRangeException(nameof(path)),
    };

    /// <summary>Bytes of a saved state's header: format, the model's fingerprint and sizes, and a checksum (<c>StateFormat</c>).</summary>
    public const int SavedStateHeader = 32;

    /// <summary>Bytes of a saved state: the header, then h (and c) of every layer and direction as little-endian float32.</summary>
    public static int SavedStateLength(int slots, int hidden, bool hasCellState) => SavedStateHeader + slots * hidden * (hasCellState ? 2 : 1) * sizeof(float);

    /// <summary><paramref name="length"/> rounded up to whole <see cref="StatePadding"/> blocks: the floats one layer and direction takes in a state buffer.</summary>
    public static int Padded(int length) => (length + StatePadding - 1) / StatePadding * StatePadding;

    /// <summary>
    /// Where pass <paramref name="pass"/> starts in a layer's packed block: a cell's passes over its weights (the
    /// reset-before GRU's two) lie back to back, in pass order.
    /// </summary>
    public static int PassStart(System.Collections.Generic.IReadOnlyList<BlockLayout> passes, int pass)
    {
        int start = 0;
        for (int p = 0; p < pass; p++)
        {
            start += passes[p].Length;
        }

        return start;
    }

    /// <summary>Vectors of units per tile: as many as keep <see cref="TargetAccumulators"/> accumulators live, at least one.</summary>
    public static int ChunksPerTile(int slots, int units, int lanes) =>
        System.Math.Max(1, System.Math.Min(TargetAccumulators / slots, (units + lanes - 1) / lanes));
}

/// <summary>
/// The packed weight stream of one layer and direction (or of the dense head) on one path: output units padded to whole
/// vectors (chunks), grouped in tiles of <see cref="ChunksPerTile"/> chunks with a shorter last tile when they do not
/// divide. A slot is one accumulator per chunk; some slots read the input, some the recurrent state.
/// </summary>
[System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
public readonly struct BlockLayout
{
    /// <summary>The layout of a block.</summary>
    /// <param name="inputSize">Input columns.</param>
    /// <param name="recurrentSize">Recurrent columns (0 for a dense layer).</param>
    /// <param name="units">Rows per gate block.</param>
    /// <param name="slots">Accumulators per chunk.</param>
    /// <param name="inputSlots">Slots that read the input.</param>
    /// <param name="recurrentSlots">Slots that read the recurrent state.</param>
    /// <param name="lanes">Floats per vector of the path.</param>
    /// <param name="storage">How the weights are stored: the size of a weight and what a tile's header holds.</param>
    public BlockLayout(int inputSize, int recurrentSize, int units, int slots, int inputSlots, int recurrentSlots, int lanes,
        WeightStorage storage = WeightStorage.Float32)
    {
        InputSize = inputSize;
        RecurrentSize = recurrentSize;
        Units = units;
        Slots = slots;
        InputSlots = inputSlots;
        RecurrentSlots = recurrentSlots;
        Lanes = lanes;
        Storage = storage;
        Chunks = (units + lanes - 1) / lanes;
        ChunksPerTile = KernelLayout.ChunksPerTile(slots, units, lanes);
    }

    /// <summary>Input columns.</summary>
    public int InputSize { get; }

    /// <summary>Recurrent columns.</summary>
    public int RecurrentSize { get; }

    /// <summary>Rows per gate block.</summary>
    public int Units { get; }

    /// <summary>Accumulators per chunk.</summary>
    public int Slots { get; }

    /// <summary>Slots that read the input.</summary>
    public int InputSlots { get; }

    /// <summary>Slots that read the recurrent state.</summary>
    public int RecurrentSlots { get; }

    /// <summary>Floats per vector.</summary>
    public int Lanes { get; }

    /// <summary>How the weights are stored.</summary>
    public WeightStorage Storage { get; }

    /// <summary>Vectors of units: the units padded to whole vectors.</summary>
    public int Chunks { get; }

    /// <summary>Chunks of a full tile.</summary>
    public int ChunksPerTile { get; }

    /// <summary>Tiles of <see cref="ChunksPerTile"/> chunks.</summary>
    public int FullTiles => Chunks / ChunksPerTile;

    /// <summary>Chunks of the last, shorter tile (0 when the tiles divide the chunks).</summary>
    public int RemainderChunks => Chunks % ChunksPerTile;

    /// <summary>The layout of a tile of <paramref name="chunks"/> chunks.</summary>
    public TileLayout Tile(int chunks) => new(this, chunks);

    /// <summary>Where tile <paramref name="tile"/> starts in the block, in stored weights (every earlier tile is full).</summary>
    public int TileStart(int tile) => tile * Tile(ChunksPerTile).Length;

    /// <summary>Stored weights of the whole block (floats, for float32 weights; every tile is whole floats long).</summary>
    public int Length => FullTiles * Tile(ChunksPerTile).Length + (RemainderChunks > 0 ? Tile(RemainderChunks).Length : 0);
}

/// <summary>
/// One tile of a packed block: a header of float32 vectors, for every (chunk, slot) its bias (and, with int8 weights, the
/// input columns' and the recurrent columns' scales); then for each input column the weight vectors of every (chunk,
/// input slot); then the same for each recurrent column. Header offsets are in floats from the tile's start; weight
/// offsets, strides and the length are in stored weights (floats, for float32 weights).
/// </summary>
[System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
public readonly struct TileLayout
{
    private readonly BlockLayout _block;

    internal TileLayout(BlockLayout block, int chunks)
    {
        _block = block;
        Chunks = chunks;
    }

    /// <summary>Chunks in this tile.</summary>
    public int Chunks { get; }

    /// <summary>Float vectors of the header per (chunk, slot) (<see cref="KernelLayout.HeaderVectors"/>).</summary>
    public int HeaderVectors => KernelLayout.HeaderVectors(_block.Storage);

    /// <summary>Weights from one input column's weights to the next one's.</summary>
    public int InputColumnStride => Chunks * _block.InputSlots * _block.Lanes;

    /// <summary>Weights from one recurrent column's weights to the next one's.</summary>
    public int RecurrentColumnStride => Chunks * _block.RecurrentSlots * _block.Lanes;

    /// <summary>Floats of the header.</summary>
    public int HeaderLength => Chunks * _block.Slots * HeaderVectors * _block.Lanes;

    /// <summary>Where the input columns start (after the header), in weights.</summary>
    public int InputOffset => HeaderLength * KernelLayout.WeightsPerFloat(_block.Storage);

    /// <summary>Where the recurrent columns start (after the input columns), in weights.</summary>
    public int RecurrentOffset => InputOffset + KernelLayout.SectionColumns(_block.Storage, _block.InputSize) * InputColumnStride;

    /// <summary>Weights of the tile, rounded up to whole floats so that the next tile's header is float-aligned.</summary>
    public int Length
    {
        get
        {
            int perFloat = KernelLayout.WeightsPerFloat(_block.Storage);
            int end = RecurrentOffset + KernelLayout.SectionColumns(_block.Storage, _block.RecurrentSize) * RecurrentColumnStride;
            return (end + perFloat - 1) / perFloat * perFloat;
        }
    }

    /// <summary>The bias vector of (chunk, slot), in floats. With int8 weights it is divided by <see cref="RecurrentScale"/> when the slot reads the recurrent state.</summary>
    public int Bias(int chunk, int slot) => (chunk * _block.Slots + slot) * HeaderVectors * _block.Lanes;

    /// <summary>
    /// Int8 weights only: the vector, in floats, the input columns' sum of (chunk, slot) is multiplied by before the bias
    /// is added: the rows' input scale, divided by their recurrent scale when the slot reads the state.
    /// </summary>
    public int InputScale(int chunk, int slot) => Bias(chunk, slot) + _block.Lanes;

    /// <summary>Int8 weights only: the recurrent rows' scales of (chunk, slot), in floats; the sum is multiplied by them last.</summary>
    public int RecurrentScale(int chunk, int slot) => Bias(chunk, slot) + 2 * _block.Lanes;

    /// <summary>The weight vector of an input column for (chunk, the <paramref name="inputSlot"/>-th slot that reads the input) (its lanes <see cref="KernelLayout.LaneStep"/> apart).</summary>
    public int InputWeight(int column, int chunk, int inputSlot) =>
        InputOffset + KernelLayout.ColumnWeight(_block.Storage, column, chunk * _block.InputSlots + inputSlot, InputColumnStride, _block.Lanes);

    /// <summary>The weight vector of a recurrent column for (chunk, the <paramref name="recurrentSlot"/>-th slot that reads the state).</summary>
    public int RecurrentWeight(int column, int chunk, int recurrentSlot) =>
        RecurrentOffset + KernelLayout.ColumnWeight(_block.Storage, column, chunk * _block.RecurrentSlots + recurrentSlot, RecurrentColumnStride, _block.Lanes);
}

/// <summary>
/// A model's parameter tensors as PyTorch's nn.RNN/LSTM/GRU and nn.Linear name and shape them (state_dict order): for each
/// layer and direction weight_ih_l{k}, weight_hh_l{k} and, with bias, bias_ih_l{k}, bias_hh_l{k} (suffix _reverse for the
/// reverse direction); then head.weight and head.bias. A block is one layer and direction, then the head.
/// </summary>
[System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
public sealed class ParameterLayout
{
    private readonly string[] _names;
    private readonly int[][] _shapes;
    private readonly int[][] _blockTensors;

    /// <summary>The tensors of a model.</summary>
    /// <param name="inputSize">Features per step.</param>
    /// <param name="hiddenSize">Hidden units per layer and direction.</param>
    /// <param name="gates">Gate row blocks per weight matrix (rnn 1, gru 3, lstm 4).</param>
    /// <param name="layers">Stacked layers.</param>
    /// <param name="directions">1, or 2 when bidirectional.</param>
    /// <param name="bias">Whether the recurrent layers have biases.</param>
    /// <param name="headOutput">The dense head's outputs, or 0 without a head.</param>
    public ParameterLayout(int inputSize, int hiddenSize, int gates, int layers, int directions, bool bias, int headOutput)
    {
        var names = new System.Collections.Generic.List<string>();
        var shapes = new System.Collections.Generic.List<int[]>();
        var blocks = new System.Collections.Generic.List<int[]>();
        int Add(string name, params int[] shape)
        {
            names.Add(name);
            shapes.Add(shape);
            return names.Count - 1;
        }

        for (int layer = 0; layer < layers; layer++)
        {
            for (int direction = 0; direction < directions; direction++)
            {
                string suffix = layer.ToString(System.Globalization.CultureInfo.InvariantCulture) + (direction == 1 ? "_reverse" : string.Empty);
                int weightIh = Add("weight_ih_l" + suffix, gates * hiddenSize, KernelLayout.LayerInput(layer, inputSize, hiddenSize, directions));
                int weightHh = Add("weight_hh_l" + suffix, gates * hiddenSize, hiddenSize);
                int biasIh = bias ? Add("bias_ih_l" + suffix, gates * hiddenSize) : -1;
                int biasHh = bias ? Add("bias_hh_l" + suffix, gates * hiddenSize) : -1;
                blocks.Add(new[] { weightIh, weightHh, biasIh, biasHh });
            }
        }

        if (headOutput > 0)
        {
            int weight = Add("head.weight", headOutput, directions * hiddenSize);
            int headBias = Add("head.bias", headOutput);
            blocks.Add(new[] { weight, -1, headBias, -1 });
        }

        _names = names.ToArray();
        _shapes = shapes.ToArray();
        _blockTensors = blocks.ToArray();
    }

    /// <summary>Number of tensors.</summary>
    public int Count => _names.Length;

    /// <summary>Number of blocks: one per layer and direction, plus one for the head.</summary>
    public int BlockCount => _blockTensors.Length;

    /// <summary>The state_dict name of tensor <paramref name="index"/>.</summary>
    public string Name(int index) => _names[index];

    /// <summary>The shape of tensor <paramref name="index"/>, outermost dimension first (a copy).</summary>
    public int[] Shape(int index) => (int[])_shapes[index].Clone();

    /// <summary>The tensors block <paramref name="block"/> packs, by index: weight_ih, weight_hh, bias_ih, bias_hh (-1: none; the head's bias is third).</summary>
    public int[] BlockTensors(int block) => (int[])_blockTensors[block].Clone();
}
