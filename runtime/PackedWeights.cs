using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Embedded.Rnn;

/// <summary>
/// What a generated model's weights are: its sizes and its cell's accumulator slots, and from them the parameter tensors
/// it loads (PyTorch state_dict names, <see cref="ParameterLayout"/>) and the packed blocks its kernels stream (one per layer
/// and direction, then the head; <see cref="RecurrentPacking"/>). The generated class holds one, built from constants.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ModelLayout
{
    private readonly int[] _inputBlocks;
    private readonly int[] _recurrentBlocks;
    private readonly int[] _passes;
    private readonly ParameterLayout _tensors;

    /// <summary>The layout of a model.</summary>
    /// <param name="inputSize">Features per step.</param>
    /// <param name="hiddenSize">Hidden units per layer and direction.</param>
    /// <param name="gates">Gate row blocks per weight matrix.</param>
    /// <param name="layers">Stacked layers.</param>
    /// <param name="directions">1, or 2 when bidirectional.</param>
    /// <param name="bias">Whether the recurrent layers have biases.</param>
    /// <param name="headOutput">The dense head's outputs, or 0 without a head.</param>
    /// <param name="inputBlocks">Per accumulator slot of the cell, the gate row block of weight_ih it reads, or -1.</param>
    /// <param name="recurrentBlocks">Per slot, the gate row block of weight_hh it reads, or -1.</param>
    /// <param name="storage">How the packed weights are stored.</param>
    /// <param name="passes">Per slot, the pass over the weights that computes it (<see cref="RecurrentPacking"/>); null: one pass.</param>
    public ModelLayout(int inputSize, int hiddenSize, int gates, int layers, int directions, bool bias, int headOutput,
        int[] inputBlocks, int[] recurrentBlocks, WeightStorage storage = WeightStorage.Float32, int[]? passes = null)
    {
        ArgumentNullException.ThrowIfNull(inputBlocks);
        ArgumentNullException.ThrowIfNull(recurrentBlocks);
        if (inputBlocks.Length != recurrentBlocks.Length || inputBlocks.Length == 0)
        {
            throw new ArgumentException("inputBlocks and recurrentBlocks give one entry per slot (at least one).", nameof(recurrentBlocks));
        }

        InputSize = inputSize;
        HiddenSize = hiddenSize;
        LayerCount = layers;
        DirectionCount = directions;
        HeadOutput = headOutput;
        Storage = storage;
        _inputBlocks = (int[])inputBlocks.Clone();
        _recurrentBlocks = (int[])recurrentBlocks.Clone();
        _passes = passes is null ? [] : (int[])passes.Clone();
        _tensors = new ParameterLayout(inputSize, hiddenSize, gates, layers, directions, bias, headOutput);
        Parameters = Enumerable.Range(0, _tensors.Count).Select(i => new ParameterSpec(_tensors.Name(i), _tensors.Shape(i))).ToArray();
    }

    /// <summary>Features per step.</summary>
    public int InputSize { get; }

    /// <summary>Hidden units per layer and direction.</summary>
    public int HiddenSize { get; }

    /// <summary>Stacked layers.</summary>
    public int LayerCount { get; }

    /// <summary>1, or 2 when bidirectional.</summary>
    public int DirectionCount { get; }

    /// <summary>The dense head's outputs, or 0.</summary>
    public int HeadOutput { get; }

    /// <summary>How the packed weights are stored.</summary>
    public WeightStorage Storage { get; }

    /// <summary>The parameter tensors the model loads, in state_dict order.</summary>
    public IReadOnlyList<ParameterSpec> Parameters { get; }

    /// <summary>
    /// The parameters of a safetensors file, checked against <see cref="Parameters"/> (names, shapes, F32, or the weight
    /// matrices as <see cref="Storage"/> stores them: <see cref="WeightQuantization.StoredFile"/>) and for NaN and infinities.
    /// </summary>
    /// <exception cref="Safetensors.SafetensorsException">The file is malformed, its tensors differ from Parameters, or a weight is not finite.</exception>
    public float[][] Read(Safetensors.SafetensorsFile file) => StateDictLoader.Load(file, Parameters, Storage);

    /// <inheritdoc cref="Read(Safetensors.SafetensorsFile)"/>
    public float[][] Read(string path) => Read(Safetensors.SafetensorsFile.Read(path));

    /// <inheritdoc cref="Read(Safetensors.SafetensorsFile)"/>
    public float[][] Read(Stream stream) => Read(Safetensors.SafetensorsFile.Read(stream));

    /// <inheritdoc cref="Read(Safetensors.SafetensorsFile)"/>
    public float[][] Read(ReadOnlyMemory<byte> bytes) => Read(Safetensors.SafetensorsFile.Parse(bytes));

    /// <summary>Baked weights (in <see cref="Parameters"/> order), checked for NaN and infinities unless <paramref name="options"/> allows them.</summary>
    /// <exception cref="Safetensors.SafetensorsException">A weight is not finite (the message names the tensor and index).</exception>
    public IReadOnlyList<float[]> Baked(IReadOnlyList<float[]> parameters, Safetensors.SafetensorsLoadOptions options = Safetensors.SafetensorsLoadOptions.None) =>
        (options & Safetensors.SafetensorsLoadOptions.AllowNonFinite) != 0 ? parameters : StateDictLoader.CheckFinite(parameters, Parameters);

    /// <summary>Packed blocks: one per layer and direction, then one for the head.</summary>
    public int BlockCount => _tensors.BlockCount;

    /// <summary>The tensors block <paramref name="block"/> packs (weight_ih, weight_hh, bias_ih, bias_hh; -1 for none).</summary>
    public int[] BlockTensors(int block) => _tensors.BlockTensors(block);

    /// <summary>The packing of block <paramref name="block"/> on <paramref name="path"/>.</summary>
    public RecurrentPacking Packing(int block, KernelPath path)
    {
        int lanes = KernelLayout.Lanes(path);
        if (block >= LayerCount * DirectionCount)
        {
            return new RecurrentPacking(DirectionCount * HiddenSize, 0, HeadOutput, lanes, [KernelLayout.HeadInputBlock], [KernelLayout.HeadRecurrentBlock], default, Storage);
        }

        int input = KernelLayout.LayerInput(block / DirectionCount, InputSize, HiddenSize, DirectionCount);
        return new RecurrentPacking(input, HiddenSize, HiddenSize, lanes, _inputBlocks, _recurrentBlocks, _passes, Storage);
    }
}

/// <summary>
/// A model's weights packed for one kernel path, one 64-byte-aligned block per layer and direction, then the head, in
/// the order the kernels stream them. Loading takes PyTorch-layout tensors; the trainer reloads after each update.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class PackedWeights
{
    private readonly ModelLayout _layout;
    private readonly RecurrentPacking[] _packings;
    private readonly int[][] _blockTensors;
    private readonly float[][] _blocks;
    private readonly int[] _offsets;

    /// <summary>Packs <paramref name="parameters"/> (PyTorch layout, <see cref="ModelLayout.Parameters"/> order) for <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">The tensors' count or lengths differ from the layout's parameters.</exception>
    public PackedWeights(ModelLayout layout, KernelPath path, IReadOnlyList<float[]> parameters)
    {
        ArgumentNullException.ThrowIfNull(layout);

        _layout = layout;
        Path = path;
        _packings = Enumerable.Range(0, layout.BlockCount).Select(b => layout.Packing(b, path)).ToArray();
        _blockTensors = Enumerable.Range(0, layout.BlockCount).Select(layout.BlockTensors).ToArray();
        _blocks = new float[_packings.Length][];
        _offsets = new int[_packings.Length];
        for (int b = 0; b < _packings.Length; b++)
        {
            _blocks[b] = AlignedArrays.Allocate(_packings[b].Length, out _offsets[b]);
        }

        BlockLengths = Array.ConvertAll(_packings, p => p.Length);
        Load(parameters);
    }

    /// <summary>The path the packing is for.</summary>
    public KernelPath Path { get; }

    /// <summary>How the weights are stored (float32 unless the model's spec sets a narrower <c>precision</c>).</summary>
    public WeightStorage Storage => _layout.Storage;

    /// <summary>Floats of each block (and so of each packed gradient buffer).</summary>
    public IReadOnlyList<int> BlockLengths { get; }

    /// <summary>The first packed weight of <paramref name="block"/> (unchecked: the generated kernels' entry).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref float Block(int block) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_blocks[block]), _offsets[block]);

    /// <summary>The first packed weight of <paramref name="block"/> as the stored type (unchecked: the generated kernels' entry).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref TWeight Block<TWeight>(int block) where TWeight : unmanaged => ref Unsafe.As<float, TWeight>(ref Block(block));

    /// <summary>Replaces the weights by PyTorch-layout tensors in the layout's parameter order. Allocates nothing.</summary>
    /// <exception cref="ArgumentException">The tensors' count or lengths differ from the layout's parameters.</exception>
    public void Load(IReadOnlyList<float[]> parameters)
    {
        RnnThrow.IfParametersMismatch(parameters, _layout.Parameters, nameof(parameters));
        if (Storage == WeightStorage.Int8)
        {
            // Checked before any block is packed: the packing would stop at the row with no scale, the blocks before it
            // already replaced, leaving the model half old and half new.
            WeightQuantization.ThrowIfNotFiniteInt8(_layout.Parameters, parameters, nameof(parameters));
        }

        for (int b = 0; b < _packings.Length; b++)
        {
            var tensors = _blockTensors[b];
            _packings[b].PackInto(_blocks[b].AsSpan(_offsets[b], _packings[b].Length),
                Tensor(parameters, tensors[0]), Tensor(parameters, tensors[1]), Tensor(parameters, tensors[2]), Tensor(parameters, tensors[3]));
        }
    }

    /// <summary>Adds gradients held in packed order (one buffer per block) to gradients in PyTorch layout.</summary>
    /// <exception cref="ArgumentException">The gradient tensors' count or lengths differ from the layout's parameters.</exception>
    public void AccumulateGradients(IReadOnlyList<float[]> packedGradients, IReadOnlyList<float[]> parameterGradients)
    {
        ArgumentNullException.ThrowIfNull(packedGradients);
        RnnThrow.IfParametersMismatch(parameterGradients, _layout.Parameters, nameof(parameterGradients));
        if (packedGradients.Count != _packings.Length)
        {
            throw new ArgumentException($"expected {_packings.Length} packed gradient blocks; got {packedGradients.Count}.", nameof(packedGradients));
        }

        for (int b = 0; b < _packings.Length; b++)
        {
            var tensors = _blockTensors[b];
            _packings[b].AccumulateGradient(packedGradients[b],
                Tensor(parameterGradients, tensors[0]), Tensor(parameterGradients, tensors[1]), Tensor(parameterGradients, tensors[2]), Tensor(parameterGradients, tensors[3]));
        }
    }

    private static float[] Tensor(IReadOnlyList<float[]> tensors, int index) => index < 0 ? [] : tensors[index];
}
