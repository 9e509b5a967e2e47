using System.Buffers.Binary;
using System.ComponentModel;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Embedded.Rnn;

/// <summary>
/// A generated model's state as bytes, and its finiteness check; generated code calls this (one instance per model
/// class), applications call the <c>State</c> struct's <c>WriteTo</c>, <c>ReadFrom</c> and <c>IsFinite</c>.
/// </summary>
/// <remarks>
/// The bytes (<see cref="KernelLayout.SavedStateLength"/> of them), all little-endian:
/// <list type="table">
/// <item><term>0</term><description>"ERNS", the format's mark.</description></item>
/// <item><term>4</term><description>uint16 version, 1.</description></item>
/// <item><term>6</term><description>uint16 flags: bit 0 set when the state has a cell state c.</description></item>
/// <item><term>8</term><description>uint64 the model's fingerprint: a hash of its spec (cell, sizes, bias, head), not of its weights.</description></item>
/// <item><term>16</term><description>int32 layers, int32 directions, int32 hidden units.</description></item>
/// <item><term>28</term><description>uint32 checksum (FNV-1a) of every other byte.</description></item>
/// <item><term>32</term><description>float32 h of every layer and direction (layer-major), then c likewise.</description></item>
/// </list>
/// Reading checks every field before it touches the state, so a refused buffer leaves the state as it was.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class StateFormat
{
    private const uint Mark = 'E' | 'R' << 8 | 'N' << 16 | 'S' << 24;
    private const ushort Version = 1;
    private const int ChecksumOffset = 28;

    private readonly ulong _fingerprint;
    private readonly int _layers;
    private readonly int _directions;
    private readonly int _hidden;
    private readonly bool _hasCellState;
    private readonly int _paddedHidden;
    private readonly string _model;

    /// <summary>The state layout of one model class.</summary>
    /// <param name="fingerprint">The hash of the model's spec the generator computed.</param>
    /// <param name="layers">Stacked layers.</param>
    /// <param name="directions">1, or 2 when bidirectional.</param>
    /// <param name="hidden">Hidden units per layer and direction.</param>
    /// <param name="hasCellState">Whether the state holds c after h.</param>
    /// <param name="model">The model in words, for error messages.</param>
    public StateFormat(ulong fingerprint, int layers, int directions, int hidden, bool hasCellState, string model)
    {
        _fingerprint = fingerprint;
        _layers = layers;
        _directions = directions;
        _hidden = hidden;
        _hasCellState = hasCellState;
        _paddedHidden = KernelLayout.Padded(hidden);
        _model = model;
        Length = KernelLayout.SavedStateLength(layers * directions, hidden, hasCellState);
    }

    /// <summary>Bytes of a saved state of this model.</summary>
    public int Length { get; }

    // h of every slot, then (with a cell state) c of every slot: the parts of the state buffer that carry information.
    private int Parts => _layers * _directions * (_hasCellState ? 2 : 1);

    /// <summary>Whether every h (and c) value is finite; padding and scratch are not looked at.</summary>
    public bool AllFinite(ref float values)
    {
        // x - x is 0 for every finite x and NaN for NaN and ±∞, so one sum of those tells whether any value is not finite.
        var sum = Vector<float>.Zero;
        float tail = 0f;
        for (int part = 0; part < Parts; part++)
        {
            ref float start = ref Unsafe.Add(ref values, part * _paddedHidden);
            int i = 0;
            for (; i <= _hidden - Vector<float>.Count; i += Vector<float>.Count)
            {
                var v = Vector.LoadUnsafe(ref start, (nuint)i);
                sum += v - v;
            }

            for (; i < _hidden; i++)
            {
                float v = Unsafe.Add(ref start, i);
                tail += v - v;
            }
        }

        return Vector.Sum(sum) + tail == 0f;
    }

    /// <summary>Writes the state's bytes (see the remarks) to the start of <paramref name="destination"/>; allocates nothing.</summary>
    /// <returns>The bytes written, <see cref="Length"/>.</returns>
    /// <exception cref="ArgumentException">destination is shorter than <see cref="Length"/>.</exception>
    public int Write(ref float values, Span<byte> destination)
    {
        if (destination.Length < Length)
        {
            RnnThrow.LengthAtLeast(nameof(destination), Length, "State.SavedLength", destination.Length);
        }

        var bytes = destination[..Length];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, Mark);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[4..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[6..], (ushort)(_hasCellState ? 1 : 0));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[8..], _fingerprint);
        BinaryPrimitives.WriteInt32LittleEndian(bytes[16..], _layers);
        BinaryPrimitives.WriteInt32LittleEndian(bytes[20..], _directions);
        BinaryPrimitives.WriteInt32LittleEndian(bytes[24..], _hidden);
        int position = KernelLayout.SavedStateHeader;
        for (int part = 0; part < Parts; part++)
        {
            var source = MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref values, part * _paddedHidden), _hidden);
            foreach (float v in source)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes[position..], v);
                position += sizeof(float);
            }
        }

        BinaryPrimitives.WriteUInt32LittleEndian(bytes[ChecksumOffset..], Checksum(bytes));
        return Length;
    }

    /// <summary>
    /// Replaces the state with one saved by <see cref="Write"/>: h and c from the bytes, every other value zero. The
    /// bytes must be exactly one state of this model (see the remarks); anything else is refused and the state is left as it was.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not a state of this model, or are damaged.</exception>
    public void Read(ReadOnlySpan<byte> source, ref float values, int stateLength)
    {
        if (source.Length < KernelLayout.SavedStateHeader || BinaryPrimitives.ReadUInt32LittleEndian(source) != Mark)
        {
            throw new InvalidDataException($"Not a saved Embedded.Rnn state ({source.Length} bytes without the \"ERNS\" mark at the start); State.WriteTo writes one.");
        }

        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(source[4..]);
        if (version != Version)
        {
            throw new InvalidDataException($"A saved state of format version {version}; this version of Embedded.Rnn reads version {Version}.");
        }

        bool cell = (BinaryPrimitives.ReadUInt16LittleEndian(source[6..]) & 1) != 0;
        int layers = BinaryPrimitives.ReadInt32LittleEndian(source[16..]);
        int directions = BinaryPrimitives.ReadInt32LittleEndian(source[20..]);
        int hidden = BinaryPrimitives.ReadInt32LittleEndian(source[24..]);
        if (layers != _layers || directions != _directions || hidden != _hidden || cell != _hasCellState)
        {
            throw new InvalidDataException(
                $"The saved state is of another model: {Sizes(layers, directions, hidden, cell)}; this model, {_model}, has {Sizes(_layers, _directions, _hidden, _hasCellState)}.");
        }

        ulong fingerprint = BinaryPrimitives.ReadUInt64LittleEndian(source[8..]);
        if (fingerprint != _fingerprint)
        {
            throw new InvalidDataException(
                $"The saved state is of another model spec with the same sizes (fingerprint {fingerprint:x16}; {_model} has {_fingerprint:x16}): another cell, activation, bias or head.");
        }

        if (source.Length != Length)
        {
            throw new InvalidDataException($"A saved state of this model is {Length} bytes; got {source.Length} (truncated, or more than one state).");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(source[ChecksumOffset..]) != Checksum(source))
        {
            throw new InvalidDataException("The saved state is damaged: its checksum does not match its bytes.");
        }

        MemoryMarshal.CreateSpan(ref values, stateLength).Clear();
        int position = KernelLayout.SavedStateHeader;
        for (int part = 0; part < Parts; part++)
        {
            var target = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref values, part * _paddedHidden), _hidden);
            for (int i = 0; i < target.Length; i++, position += sizeof(float))
            {
                target[i] = BinaryPrimitives.ReadSingleLittleEndian(source[position..]);
            }
        }
    }

    private static string Sizes(int layers, int directions, int hidden, bool cell) =>
        $"{layers} layer(s) × {directions} direction(s) × {hidden} hidden units{(cell ? " with a cell state" : string.Empty)}";

    // FNV-1a over every byte but the checksum's own four: enough to catch a torn or damaged write, and no dependency.
    private static uint Checksum(ReadOnlySpan<byte> bytes)
    {
        uint hash = 2166136261;
        for (int i = 0; i < bytes.Length; i++)
        {
            if (i == ChecksumOffset)
            {
                i += sizeof(uint) - 1;
                continue;
            }

            hash = (hash ^ bytes[i]) * 16777619;
        }

        return hash;
    }
}
