using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Embedded.Rnn.Safetensors;

/// <summary>Writes F32, F64, BF16 and I8 tensors as a safetensors file (header padded to 8 bytes, data in order).</summary>
public sealed class SafetensorsWriter
{
    private readonly List<(string Name, long[] Shape, string DType, byte[] Data)> _tensors = [];
    private readonly SortedDictionary<string, string> _metadata = new(StringComparer.Ordinal);

    /// <summary>Adds a float32 tensor.</summary>
    /// <exception cref="ArgumentException">The shape does not match the number of values, or the name is taken.</exception>
    public SafetensorsWriter Add(string name, ReadOnlySpan<float> values, params long[] shape) =>
        Add(name, values, shape, "F32", sizeof(float), static (bytes, v) => BinaryPrimitives.WriteSingleLittleEndian(bytes, v));

    /// <summary>Adds a float64 tensor.</summary>
    /// <exception cref="ArgumentException">The shape does not match the number of values, or the name is taken.</exception>
    public SafetensorsWriter Add(string name, ReadOnlySpan<double> values, params long[] shape) =>
        Add(name, values, shape, "F64", sizeof(double), static (bytes, v) => BinaryPrimitives.WriteDoubleLittleEndian(bytes, v));

    /// <summary>Adds a BF16 tensor from bfloat16 bit patterns (<see cref="WeightQuantization.ToBFloat16"/>).</summary>
    /// <exception cref="ArgumentException">The shape does not match the number of values, or the name is taken.</exception>
    public SafetensorsWriter AddBFloat16(string name, ReadOnlySpan<ushort> bits, params long[] shape) =>
        Add(name, bits, shape, "BF16", sizeof(ushort), static (bytes, v) => BinaryPrimitives.WriteUInt16LittleEndian(bytes, v));

    /// <summary>Adds an I8 tensor.</summary>
    /// <exception cref="ArgumentException">The shape does not match the number of values, or the name is taken.</exception>
    public SafetensorsWriter AddInt8(string name, ReadOnlySpan<sbyte> values, params long[] shape)
    {
        Check(name, values.Length, shape);
        _tensors.Add((name, shape, "I8", System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).ToArray()));
        return this;
    }

    /// <summary>Adds a <c>__metadata__</c> entry.</summary>
    public SafetensorsWriter AddMetadata(string key, string value)
    {
        _metadata[key] = value;
        return this;
    }

    /// <summary>The file as bytes.</summary>
    public byte[] ToArray()
    {
        var header = new StringBuilder("{");
        if (_metadata.Count > 0)
        {
            header.Append("\"__metadata__\":{");
            header.AppendJoin(',', _metadata.Select(kv => $"{Quote(kv.Key)}:{Quote(kv.Value)}"));
            header.Append('}');
        }

        long offset = 0;
        foreach (var t in _tensors)
        {
            long bytes = t.Data.Length;
            if (header.Length > 1)
            {
                header.Append(',');
            }

            header.Append(CultureInfo.InvariantCulture,
                $"{Quote(t.Name)}:{{\"dtype\":\"{t.DType}\",\"shape\":[{string.Join(",", t.Shape)}],\"data_offsets\":[{offset},{offset + bytes}]}}");
            offset += bytes;
        }

        header.Append('}');
        while (Encoding.UTF8.GetByteCount(header.ToString()) % 8 != 0)
        {
            header.Append(' ');
        }

        byte[] headerBytes = Encoding.UTF8.GetBytes(header.ToString());
        var result = new byte[8 + headerBytes.Length + offset];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)headerBytes.Length);
        headerBytes.CopyTo(result, 8);
        int position = 8 + headerBytes.Length;
        foreach (var t in _tensors)
        {
            t.Data.CopyTo(result, position);
            position += t.Data.Length;
        }

        return result;
    }

    /// <summary>
    /// Writes the file to <paramref name="path"/> so that a crash or power cut leaves the old file or the new one, never a
    /// torn one: a temporary file, flushed to the disk, renamed over the path, then the directory flushed (Linux).
    /// </summary>
    public void Save(string path) => DurableFile.Write(path, ToArray());

    // A tensor of dtype, each value written little-endian into its size bytes.
    private SafetensorsWriter Add<T>(string name, ReadOnlySpan<T> values, long[] shape, string dtype, int size, SpanAction<byte, T> write)
    {
        Check(name, values.Length, shape);
        var data = new byte[values.Length * size];
        for (int i = 0; i < values.Length; i++)
        {
            write(data.AsSpan(i * size, size), values[i]);
        }

        _tensors.Add((name, shape, dtype, data));
        return this;
    }

    private void Check(string name, int count, long[] shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Any(d => d < 0))
        {
            throw new ArgumentException($"tensor '{name}' has shape {SafetensorsTensor.FormatShape(shape)}: a dimension is negative.", nameof(shape));
        }

        // Exact: a long product can wrap (to 0, for [2^32, 2^32]) and pass for a shape no file can hold.
        var product = shape.Aggregate(System.Numerics.BigInteger.One, (p, d) => p * d);
        if (product != count)
        {
            throw new ArgumentException($"tensor '{name}' has {count} values but shape {SafetensorsTensor.FormatShape(shape)} needs {product}.", nameof(shape));
        }

        if (name == "__metadata__" || _tensors.Any(t => t.Name == name))
        {
            throw new ArgumentException($"tensor name '{name}' is reserved or already added.", nameof(name));
        }
    }

    private static string Quote(string text) => System.Text.Json.JsonSerializer.Serialize(text, SafetensorsJsonContext.Default.String);
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class SafetensorsJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
