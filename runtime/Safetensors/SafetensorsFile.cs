using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Embedded.Rnn.Safetensors;

/// <summary>
/// A parsed safetensors file: 8-byte little-endian header length N, N bytes of JSON header, then the raw
/// tensor data. Parsing is strict: every malformed header, unknown dtype, inconsistent shape, offset outside
/// the data, overlap or gap, and truncation throws <see cref="SafetensorsException"/> naming the tensor.
/// </summary>
public sealed class SafetensorsFile
{
    /// <summary>Headers larger than this are rejected before anything is allocated for them.</summary>
    public const int MaxHeaderBytes = 100 * 1024 * 1024;

    private readonly ReadOnlyMemory<byte> _data;
    private readonly Dictionary<string, SafetensorsTensor> _byName;

    private SafetensorsFile(ReadOnlyMemory<byte> data, List<SafetensorsTensor> tensors, Dictionary<string, string> metadata)
    {
        _data = data;
        Tensors = tensors;
        Metadata = metadata;
        _byName = new Dictionary<string, SafetensorsTensor>(tensors.Count, StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            _byName.Add(t.Name, t);
        }
    }

    /// <summary>The tensors in header order.</summary>
    public IReadOnlyList<SafetensorsTensor> Tensors { get; }

    /// <summary>The <c>__metadata__</c> entries (empty when the header has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>
    /// Reads and parses a file. A relative <paramref name="path"/> is looked up in the current directory first, then
    /// beside the application (<see cref="AppContext.BaseDirectory"/>), so weights deployed next to the executable
    /// load whatever folder it is started from.
    /// </summary>
    /// <exception cref="SafetensorsException">The file is not a valid safetensors file.</exception>
    /// <exception cref="FileNotFoundException">There is no such file; the message names every place looked in.</exception>
    /// <exception cref="IOException">The path is a directory, or the file cannot be read.</exception>
    public static SafetensorsFile Read(string path) => Parse(File.ReadAllBytes(Resolve(path)));

    // File.ReadAllBytes on a directory says "Access to the path is denied", and a relative path is read from the
    // current directory only, which a deployed executable rarely runs in.
    private static string Resolve(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(path))
        {
            return path;
        }

        ThrowIfDirectory(path);
        if (Path.IsPathRooted(path))
        {
            throw new FileNotFoundException($"safetensors file {path} does not exist.", path);
        }

        string besideApplication = Path.Combine(AppContext.BaseDirectory, path);
        if (File.Exists(besideApplication))
        {
            return besideApplication;
        }

        ThrowIfDirectory(besideApplication);
        throw new FileNotFoundException(
            $"safetensors file {path} does not exist: looked in the current directory ({Path.GetFullPath(path)}) and beside the application ({Path.GetFullPath(besideApplication)}).",
            path);

        static void ThrowIfDirectory(string candidate)
        {
            if (Directory.Exists(candidate))
            {
                throw new IOException($"{candidate} is a directory, not a safetensors file.");
            }
        }
    }

    /// <summary>Reads a stream to its end and parses it.</summary>
    /// <exception cref="SafetensorsException">The content is not a valid safetensors file.</exception>
    public static SafetensorsFile Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
    }

    /// <summary>Parses a file held in memory. The bytes are referenced, not copied: do not change them.</summary>
    /// <exception cref="SafetensorsException">The content is not a valid safetensors file.</exception>
    public static SafetensorsFile Parse(ReadOnlyMemory<byte> bytes)
    {
        ReadOnlySpan<byte> span = bytes.Span;
        if (ForeignFormats.Describe(span) is string foreign)
        {
            throw new SafetensorsException(foreign + ".");
        }

        if (span.Length < 8)
        {
            throw new SafetensorsException($"safetensors file is truncated: {span.Length} bytes, but it must start with an 8-byte header length.");
        }

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(span);
        if (headerLength > MaxHeaderBytes || headerLength > (ulong)(span.Length - 8))
        {
            throw new SafetensorsException($"safetensors header length {headerLength} does not fit: the file has {span.Length - 8} bytes after the length field (and headers are limited to {MaxHeaderBytes} bytes). The file is truncated or not safetensors.");
        }

        int n = (int)headerLength;
        var header = span.Slice(8, n);
        var data = bytes.Slice(8 + n);
        var (tensors, metadata) = ParseHeader(header, data.Length);
        return new SafetensorsFile(data, tensors, metadata);
    }

    /// <summary>True when the file holds a tensor of this name.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>The header entry of a tensor.</summary>
    /// <exception cref="SafetensorsException">There is no such tensor.</exception>
    public SafetensorsTensor GetTensor(string name) =>
        _byName.TryGetValue(name, out var t) ? t : throw new SafetensorsException($"tensor '{name}' is missing from the safetensors file.");

    /// <summary>The raw little-endian bytes of a tensor.</summary>
    public ReadOnlySpan<byte> GetBytes(SafetensorsTensor tensor) => _data.Span[(int)tensor.Begin..(int)tensor.End];

    /// <summary>Copies a tensor's values as float, converting from F64 (rounded), BF16 or I8 (exact) if needed.</summary>
    /// <exception cref="SafetensorsException">The tensor is missing or is not F32, F64, BF16 or I8.</exception>
    public float[] ReadAsSingle(string name)
    {
        var t = GetTensor(name);
        var bytes = GetBytes(t);
        var result = new float[t.ElementCount];
        switch (t.DType)
        {
            case SafetensorsDType.F32:
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
                }

                break;
            case SafetensorsDType.F64:
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(i * 8)..]);
                }

                break;
            case SafetensorsDType.BF16:
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = WeightQuantization.FromBFloat16(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]));
                }

                break;
            case SafetensorsDType.I8:
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = (sbyte)bytes[i];
                }

                break;
            default:
                throw new SafetensorsException($"tensor '{name}' has dtype {SafetensorsDTypes.Name(t.DType)}; expected F32, F64, BF16 or I8.");
        }

        return result;
    }

    /// <summary>
    /// Checks that a floating-point tensor (F16, BF16, F32 or F64) holds no NaN and no infinity; integer and bool tensors
    /// always pass. Loading a model does this for every tensor; this is for tools that look at any file.
    /// </summary>
    /// <exception cref="SafetensorsException">The tensor is missing, or holds a non-finite value (the message names the tensor, the first such index and the value).</exception>
    public void CheckFinite(string name)
    {
        var t = GetTensor(name);
        if (t.DType is not (SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.F32 or SafetensorsDType.F64))
        {
            return;
        }

        var bytes = GetBytes(t);
        int size = SafetensorsDTypes.Size(t.DType);
        for (int i = 0; i * size < bytes.Length; i++)
        {
            var element = bytes[(i * size)..];
            double value = t.DType switch
            {
                SafetensorsDType.F16 => (double)BinaryPrimitives.ReadHalfLittleEndian(element),
                SafetensorsDType.BF16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(element) << 16),
                SafetensorsDType.F32 => BinaryPrimitives.ReadSingleLittleEndian(element),
                _ => BinaryPrimitives.ReadDoubleLittleEndian(element),
            };
            if (!double.IsFinite(value))
            {
                throw NonFiniteValues.Exception(name, t.Shape, i, value);
            }
        }
    }

    /// <summary>Copies a tensor's values as double, converting from F32 if needed.</summary>
    /// <exception cref="SafetensorsException">The tensor is missing or is neither F32 nor F64.</exception>
    public double[] ReadAsDouble(string name)
    {
        var t = GetTensor(name);
        if (t.DType == SafetensorsDType.F32)
        {
            return Array.ConvertAll(ReadAsSingle(name), v => (double)v);
        }

        if (t.DType != SafetensorsDType.F64)
        {
            throw new SafetensorsException($"tensor '{name}' has dtype {SafetensorsDTypes.Name(t.DType)}; expected F32 or F64.");
        }

        var bytes = GetBytes(t);
        var result = new double[t.ElementCount];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes[(i * 8)..]);
        }

        return result;
    }

    private static (List<SafetensorsTensor> Tensors, Dictionary<string, string> Metadata) ParseHeader(ReadOnlySpan<byte> header, int dataLength)
    {
        if (!System.Text.Unicode.Utf8.IsValid(header))
        {
            throw new SafetensorsException("malformed safetensors header: it is not valid UTF-8.");
        }

        var tensors = new List<SafetensorsTensor>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            var reader = new Utf8JsonReader(header, new JsonReaderOptions { MaxDepth = 8 });
            Expect(reader.Read() && reader.TokenType == JsonTokenType.StartObject, "the header is not a JSON object");
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                string name = reader.GetString()!;
                if (!names.Add(name))
                {
                    throw new SafetensorsException($"tensor '{name}' appears twice in the safetensors header.");
                }

                if (name == "__metadata__")
                {
                    ReadMetadata(ref reader, metadata);
                }
                else
                {
                    tensors.Add(ReadTensor(ref reader, name, dataLength));
                }
            }

            Expect(reader.TokenType == JsonTokenType.EndObject, "the header JSON ends early");
            // Trailing bytes may only be the spaces that pad the header to a multiple of 8.
            foreach (byte b in header[(int)reader.BytesConsumed..])
            {
                Expect(b == (byte)' ', "the header has content after its JSON object");
            }
        }
        catch (JsonException e)
        {
            throw new SafetensorsException($"the safetensors header is not valid JSON: {e.Message}");
        }
        catch (InvalidOperationException e)
        {
            // What the reader throws for a string escaping a lone UTF-16 surrogate ("\ud800"), among others.
            throw new SafetensorsException($"the safetensors header could not be read: {e.Message}");
        }

        CheckTiling(tensors, dataLength);
        return (tensors, metadata);
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, Dictionary<string, string> metadata)
    {
        Expect(reader.Read() && reader.TokenType == JsonTokenType.StartObject, "__metadata__ is not an object of strings");
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string key = reader.GetString()!;
            Expect(reader.Read() && reader.TokenType == JsonTokenType.String, $"__metadata__ entry '{key}' is not a string");
            metadata[key] = reader.GetString()!;
        }
    }

    private static SafetensorsTensor ReadTensor(ref Utf8JsonReader reader, string name, int dataLength)
    {
        string? dtypeText = null;
        List<long>? shape = null;
        List<long>? offsets = null;
        Expect(reader.Read() && reader.TokenType == JsonTokenType.StartObject, $"tensor '{name}' is not described by an object");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string key = reader.GetString()!;
            Expect(seen.Add(key), $"tensor '{name}' gives its {key} twice");
            reader.Read();
            switch (key)
            {
                case "dtype":
                    Expect(reader.TokenType == JsonTokenType.String, $"tensor '{name}': dtype is not a string");
                    dtypeText = reader.GetString();
                    break;
                case "shape":
                    shape = ReadIntegers(ref reader, name, "shape");
                    break;
                case "data_offsets":
                    offsets = ReadIntegers(ref reader, name, "data_offsets");
                    break;
                default:
                    throw new SafetensorsException($"tensor '{name}' has an unknown header field '{key}'; expected dtype, shape and data_offsets.");
            }
        }

        if (dtypeText is null || shape is null || offsets is null)
        {
            throw new SafetensorsException($"tensor '{name}' lacks {(dtypeText is null ? "dtype" : shape is null ? "shape" : "data_offsets")} in the safetensors header.");
        }

        if (!SafetensorsDTypes.TryParse(dtypeText, out var dtype))
        {
            throw new SafetensorsException($"tensor '{name}' has unknown dtype '{dtypeText}'.");
        }

        if (offsets.Count != 2 || offsets[0] > offsets[1])
        {
            throw new SafetensorsException($"tensor '{name}' has data_offsets [{string.Join(", ", offsets)}]; expected [begin, end] with begin <= end.");
        }

        // A zero dimension makes an empty tensor, whatever the other dimensions are (safetensors allows those).
        long count = shape.Contains(0) ? 0 : 1;
        foreach (long d in count == 0 ? [] : shape)
        {
            if (count > dataLength / d)
            {
                throw new SafetensorsException($"tensor '{name}' has shape {SafetensorsTensor.FormatShape(shape)}, larger than the whole data section ({dataLength} bytes).");
            }

            count *= d;
        }

        long bytes = count * SafetensorsDTypes.Size(dtype);
        if (offsets[1] > dataLength)
        {
            throw new SafetensorsException($"tensor '{name}' ends at byte {offsets[1]} of the data section, but the file has only {dataLength} data bytes: the file is truncated.");
        }

        if (offsets[1] - offsets[0] != bytes)
        {
            throw new SafetensorsException($"tensor '{name}' has shape {SafetensorsTensor.FormatShape(shape)} and dtype {dtypeText}, which need {bytes} bytes, but its data_offsets span {offsets[1] - offsets[0]} bytes.");
        }

        return new SafetensorsTensor(name, dtype, shape.AsReadOnly(), offsets[0], offsets[1]);
    }

    private static List<long> ReadIntegers(ref Utf8JsonReader reader, string name, string field)
    {
        Expect(reader.TokenType == JsonTokenType.StartArray, $"tensor '{name}': {field} is not an array");
        var values = new List<long>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long v) || v < 0)
            {
                throw new SafetensorsException($"tensor '{name}': {field} must hold non-negative integers.");
            }

            Expect(values.Count < 64, $"tensor '{name}': {field} has too many entries");
            values.Add(v);
        }

        return values;
    }

    private static void CheckTiling(List<SafetensorsTensor> tensors, int dataLength)
    {
        var ordered = tensors.OrderBy(t => t.Begin).ThenBy(t => t.End).ToList();
        long position = 0;
        foreach (var t in ordered)
        {
            if (t.Begin != position)
            {
                string what = t.Begin < position ? "overlaps the tensor before it" : "leaves a gap before it";
                throw new SafetensorsException($"tensor '{t.Name}' starts at data byte {t.Begin}, which {what} (expected {position}).");
            }

            position = t.End;
        }

        if (position != dataLength)
        {
            throw new SafetensorsException($"the safetensors data section has {dataLength} bytes but its tensors cover {position}: the file has trailing or missing data.");
        }
    }

    private static void Expect(bool condition, string what)
    {
        if (!condition)
        {
            throw new SafetensorsException($"malformed safetensors header: {what}.");
        }
    }
}
