using System.Buffers.Binary;
using System.Text;
using Embedded.Rnn.Safetensors;
using Embedded.Rnn.Tests.Models;
using Embedded.Rnn.Tests.Support;
using Xunit;

namespace Embedded.Rnn.Tests;

/// <summary>The safetensors reader and the strict state_dict loader: every fault fails loudly, naming the tensor.</summary>
public sealed class SafetensorsTests
{
    private static byte[] File(string header, int dataBytes)
    {
        while (Encoding.UTF8.GetByteCount(header) % 8 != 0)
        {
            header += " ";
        }

        var bytes = new byte[8 + Encoding.UTF8.GetByteCount(header) + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)Encoding.UTF8.GetByteCount(header));
        Encoding.UTF8.GetBytes(header).CopyTo(bytes, 8);
        return bytes;
    }

    private static string Fails(byte[] bytes) => Assert.Throws<SafetensorsException>(() => SafetensorsFile.Parse(bytes)).Message;

    [Fact]
    public void Writer_and_reader_round_trip()
    {
        var bytes = new SafetensorsWriter()
            .AddMetadata("format", "pt")
            .Add("a", [1f, 2f, 3f, 4f, 5f, 6f], 2, 3)
            .Add("b", [0.5, -1e300], 2)
            .ToArray();
        var file = SafetensorsFile.Parse(bytes);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal([2L, 3L], file.GetTensor("a").Shape);
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], file.ReadAsSingle("a"));
        Assert.Equal([0.5, -1e300], file.ReadAsDouble("b"));
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes) % 8); // header padded so F64 data stays aligned
    }

    [Theory]
    [InlineData(new long[] { -2, -3 }, 6)] // the product matches, the dimensions do not exist
    [InlineData(new long[] { 4294967296, 4294967296 }, 0)] // 2^64 elements: the product wraps to 0
    public void The_writer_refuses_a_shape_its_reader_would_refuse(long[] shape, long values)
    {
        var writer = new SafetensorsWriter();
        var error = Assert.Throws<ArgumentException>(() => writer.Add("t", new float[values], shape));
        Assert.Equal("shape", error.ParamName);
        Assert.Contains("tensor 't'", error.Message);
        Assert.Throws<ArgumentException>(() => writer.AddInt8("t", new sbyte[values], shape));
        SafetensorsFile.Parse(writer.ToArray()); // nothing was added
    }

    [Theory]
    [InlineData("{\"\\ud800\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}")] // a tensor's name
    [InlineData("{\"t\":{\"dtype\":\"\\udc00\",\"shape\":[1],\"data_offsets\":[0,4]}}")] // a dtype
    [InlineData("{\"__metadata__\":{\"format\":\"\\ud800x\"},\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}")] // metadata
    public void A_string_escaping_a_lone_surrogate_is_a_safetensors_error(string header)
    {
        // Valid JSON escapes that are not text: the reader threw InvalidOperationException, which no caller expects.
        Assert.StartsWith("the safetensors header could not be read: ", Fails(File(header, 4)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_tensor_field_given_twice_is_refused()
    {
        // The last dtype won; the reference implementation refuses the file.
        Assert.Equal("malformed safetensors header: tensor 't' gives its dtype twice.",
            Fails(File("{\"t\":{\"dtype\":\"F32\",\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4)));
    }

    [Fact]
    public void Reads_every_reference_file()
    {
        foreach (string stem in ReferenceCase.Stems)
        {
            var file = SafetensorsFile.Read(Path.Combine(ReferenceCase.Directory, stem + ".safetensors"));
            Assert.Equal(stem, file.Metadata["case"]);
            Assert.Contains(file.Tensors, t => t.Name == "output" && t.DType == SafetensorsDType.F64);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void Rejects_a_file_shorter_than_the_length_field(int length) =>
        Assert.Contains("truncated", Fails(new byte[length]));

    [Fact]
    public void Rejects_a_header_length_beyond_the_file()
    {
        var bytes = File("{}", 0);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);
        Assert.Contains("does not fit", Fails(bytes));
    }

    [Theory]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4, "not valid JSON")]
    [InlineData("[1,2]", 0, "not a JSON object")]
    [InlineData("{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype 'F33'")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "tensor 'a' has shape [2] and dtype F32, which need 8 bytes")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "tensor 'a' ends at byte 8")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "non-negative integers")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "begin <= end")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "lacks data_offsets")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4, "unknown header field 'x'")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'b' starts at data byte 0, which overlaps")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "tensor 'a' starts at data byte 4, which leaves a gap")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12, "trailing or missing data")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'a' appears twice")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4611686018427387904],\"data_offsets\":[0,4]}}", 4, "larger than the whole data section")]
    [InlineData("{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ entry 'k' is not a string")]
    [InlineData("{} x", 0, "content after its JSON object")]
    public void Rejects_malformed_headers(string header, int dataBytes, string message) =>
        Assert.Contains(message, Fails(File(header, dataBytes)));

    /// <summary>Regression (found by PropertyTests): a tensor with a zero dimension after a non-zero one, such as
    /// [1, 0] or [3, 0] beside a smaller data section, was rejected as "larger than the whole data section".</summary>
    [Theory]
    [InlineData(new long[] { 1, 0 }, 0)]
    [InlineData(new long[] { 3, 0 }, 2)]
    [InlineData(new long[] { 5, 0, 7 }, 1)]
    [InlineData(new long[] { 0 }, 1)]
    public void Reads_empty_tensors_whatever_their_other_dimensions(long[] shape, int otherValues)
    {
        var bytes = new SafetensorsWriter().Add("empty", Array.Empty<float>(), shape).Add("other", new float[otherValues], otherValues).ToArray();
        var file = SafetensorsFile.Parse(bytes);
        Assert.Equal(shape, file.GetTensor("empty").Shape);
        Assert.Empty(file.ReadAsSingle("empty"));
        Assert.Equal(otherValues, file.ReadAsSingle("other").Length);
    }

    [Fact]
    public void Rejects_a_header_that_is_not_utf8()
    {
        var bytes = File("{\"ab\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        bytes[10] = 0xBD; // inside the name: found by MutationTests, it escaped as InvalidOperationException
        Assert.Contains("not valid UTF-8", Fails(bytes));
    }

    [Fact]
    public void Rejects_every_truncation_of_a_real_file()
    {
        var bytes = ReferenceCase.Load("gru_i1_h8_t5_b1").ParameterFile();
        for (int length = 0; length < bytes.Length; length += 7)
        {
            Assert.Throws<SafetensorsException>(() => GruI1H8T5B1.FromSafetensors(bytes.AsMemory(0, length)));
        }
    }

    [Fact]
    public void Loader_names_a_missing_tensor_and_suggests_a_misnamed_one()
    {
        var reference = ReferenceCase.Load("gru_i1_h8_t5_b1");
        var writer = new SafetensorsWriter();
        foreach (string name in reference.ParameterNames)
        {
            writer.Add(name == "weight_hh_l0" ? "weight_hh_10" : name, reference.File.ReadAsSingle(name), reference.File.GetTensor(name).Shape.ToArray());
        }

        var e = Assert.Throws<SafetensorsException>(() => GruI1H8T5B1.FromSafetensors(writer.ToArray()));
        Assert.Contains("tensor 'weight_hh_l0' is missing: expected F32 [24, 8]", e.Message);
        Assert.Contains("'weight_hh_10' (misnamed?)", e.Message);
    }

    [Fact]
    public void Loader_rejects_extra_tensors()
    {
        // A reference file holds inputs and expected outputs beside the parameters.
        var e = Assert.Throws<SafetensorsException>(() => GruI1H8T5B1.FromSafetensors(Path.Combine(ReferenceCase.Directory, "gru_i1_h8_t5_b1.safetensors")));
        Assert.Contains("is not a parameter of this model", e.Message);
        Assert.Contains("'input'", e.Message);
    }

    [Fact]
    public void Loader_rejects_a_wrong_shape_naming_both_shapes()
    {
        // The i1_h8 rnn weights have the right names but not the gru's 3-gate shapes.
        var e = Assert.Throws<SafetensorsException>(() => GruI1H8T5B1.FromSafetensors(ReferenceCase.Load("rnn_tanh_i1_h8_t5_b1").ParameterFile()));
        Assert.Contains("tensor 'weight_ih_l0' has shape [8, 1]; expected [24, 1]", e.Message);
    }

    [Fact]
    public void Loader_rejects_a_wrong_dtype()
    {
        var reference = ReferenceCase.Load("rnn_tanh_i1_h8_t5_b1");
        var writer = new SafetensorsWriter();
        foreach (string name in reference.ParameterNames)
        {
            var shape = reference.File.GetTensor(name).Shape.ToArray();
            if (name == "bias_hh_l0")
            {
                writer.Add(name, reference.File.ReadAsDouble(name), shape);
            }
            else
            {
                writer.Add(name, reference.File.ReadAsSingle(name), shape);
            }
        }

        var e = Assert.Throws<SafetensorsException>(() => RnnTanhI1H8T5B1.FromSafetensors(writer.ToArray()));
        Assert.Contains("tensor 'bias_hh_l0' has dtype F64; expected F32 [8]", e.Message);
    }

    [Fact]
    public void Loads_from_a_path_and_a_stream_identically()
    {
        string path = Path.Combine(Path.GetTempPath(), $"ernn-{Guid.NewGuid():N}.safetensors");
        var bytes = ReferenceCase.Load("lstm_i1_h8_t5_b1").ParameterFile();
        System.IO.File.WriteAllBytes(path, bytes);
        try
        {
            var fromPath = LstmI1H8T5B1.FromSafetensors(path);
            using var stream = new MemoryStream(bytes);
            var fromStream = LstmI1H8T5B1.FromSafetensors(stream);
            var a = default(LstmI1H8T5B1.State);
            var b = default(LstmI1H8T5B1.State);
            var ya = new float[8];
            var yb = new float[8];
            fromPath.Step([0.7f], ref a, ya);
            fromStream.Step([0.7f], ref b, yb);
            Assert.Equal(ya, yb);
            Assert.Contains(ya, v => v != 0f);
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }

    // The reference weights with one value replaced: weight_hh_l0 is [32, 8], so flat index 29 is [3, 5].
    private static byte[] WeightsWith(string tensor, int index, float value)
    {
        var reference = ReferenceCase.Load("lstm_i1_h8_t5_b1");
        var writer = new SafetensorsWriter();
        foreach (var parameter in LstmI1H8T5B1.Parameters)
        {
            var values = reference.File.ReadAsSingle(parameter.Name);
            if (parameter.Name == tensor)
            {
                values[index] = value;
            }

            writer.Add(parameter.Name, values, parameter.Shape.Select(d => (long)d).ToArray());
        }

        return writer.ToArray();
    }

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "+Infinity")]
    [InlineData(float.NegativeInfinity, "-Infinity")]
    public void Refuses_a_non_finite_weight_naming_the_tensor_index_and_value(float value, string text)
    {
        var bytes = WeightsWith("weight_hh_l0", 29, value);
        string expected = $"tensor 'weight_hh_l0' holds {text} at index 29 ([3, 5] in shape [32, 8])";
        Assert.Contains(expected, Assert.Throws<SafetensorsException>(() => LstmI1H8T5B1.FromSafetensors(bytes)).Message);
        Assert.Contains(expected, Assert.Throws<SafetensorsException>(() => LstmI1H8T5B1.FromSafetensors(SafetensorsFile.Parse(bytes))).Message);
        Assert.Contains(expected, Assert.Throws<SafetensorsException>(() => StateDictLoader.Load(SafetensorsFile.Parse(bytes), LstmI1H8T5B1.Parameters)).Message);
        Assert.Contains(expected, Assert.Throws<SafetensorsException>(() => SafetensorsFile.Parse(bytes).CheckFinite("weight_hh_l0")).Message);

        // A 1-D tensor: the flat index is the index.
        Assert.Contains($"tensor 'bias_hh_l0' holds {text} at index 31:",
            Assert.Throws<SafetensorsException>(() => LstmI1H8T5B1.FromSafetensors(WeightsWith("bias_hh_l0", 31, value))).Message);
    }

    [Fact]
    public void Loads_non_finite_weights_when_allowed()
    {
        var bytes = WeightsWith("weight_hh_l0", 29, float.NaN);
        var parameters = StateDictLoader.Load(SafetensorsFile.Parse(bytes), LstmI1H8T5B1.Parameters, SafetensorsLoadOptions.AllowNonFinite);
        Assert.Equal(float.NaN, parameters[1][29]);
        var model = LstmI1H8T5B1.FromParameters(parameters, KernelPath.Scalar);

        // What the check protects against: the NaN reaches every output.
        var state = default(LstmI1H8T5B1.State);
        var y = new float[8];
        model.Step([0.7f], ref state, y);
        model.Step([0.7f], ref state, y);
        Assert.All(y, v => Assert.True(float.IsNaN(v)));
    }

    [Fact]
    public void CheckFinite_reads_F64_as_stored_and_passes_integer_tensors()
    {
        var file = SafetensorsFile.Parse(new SafetensorsWriter().Add("big", [1e300, 2], 2).Add("bad", [0.0, 1, double.NaN, 3], 2, 2).ToArray());
        file.CheckFinite("big"); // finite as F64 (ReadAsSingle would make it infinite; models take F32 only)
        Assert.Contains("tensor 'bad' holds NaN at index 2 ([1, 0] in shape [2, 2])", Assert.Throws<SafetensorsException>(() => file.CheckFinite("bad")).Message);
        var integers = SafetensorsFile.Parse(File("{\"i\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8));
        integers.CheckFinite("i");
    }

    [Fact]
    public void A_directory_is_named_as_a_directory()
    {
        string directory = Directory.CreateTempSubdirectory("ernn-").FullName;
        try
        {
            var e = Assert.Throws<IOException>(() => SafetensorsFile.Read(directory));
            Assert.Equal($"{directory} is a directory, not a safetensors file.", e.Message);
            Assert.Contains("is a directory", Assert.Throws<IOException>(() => LstmI1H8T5B1.FromSafetensors(directory)).Message);
        }
        finally
        {
            Directory.Delete(directory);
        }
    }

    [Fact]
    public void A_missing_absolute_path_is_named()
    {
        string path = Path.Combine(Path.GetTempPath(), $"ernn-absent-{Guid.NewGuid():N}.safetensors");
        var e = Assert.Throws<FileNotFoundException>(() => SafetensorsFile.Read(path));
        Assert.Equal($"safetensors file {path} does not exist.", e.Message);
        Assert.Equal(path, e.FileName);
    }

    public static TheoryData<string, byte[], string> FilesGivenByMistake()
    {
        static byte[] Zip(params string[] entries)
        {
            using var buffer = new MemoryStream();
            using (var zip = new System.IO.Compression.ZipArchive(buffer, System.IO.Compression.ZipArchiveMode.Create))
            {
                foreach (string entry in entries)
                {
                    using var stream = zip.CreateEntry(entry).Open();
                    stream.Write([1, 2, 3]);
                }
            }

            return buffer.ToArray();
        }

        return new()
        {
            // torch.save since PyTorch 1.6: a zip whose entries sit under <name>/, the pickle in data.pkl.
            { "torch.save", Zip("archive/data.pkl", "archive/data/0", "archive/version"), "this is a PyTorch torch.save file (a zip holding a pickle), not safetensors" },
            // torch.save(_use_new_zipfile_serialization=False): pickle protocol 2, opening with the magic number.
            { "legacy torch.save", [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8], "this is a Python pickle" },
            { "Keras .keras", Zip("metadata.json", "config.json", "model.weights.h5"), "this is a Keras .keras model" },
            { "Keras .h5", [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0], "this is an HDF5 file (a Keras .h5 model?)" },
            { "NumPy .npy", [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, 0x76, 0, (byte)'{', 0], "this is a NumPy .npy array" },
            // A real ONNX export (ONNX Runtime runs it in bench/).
            { "ONNX", System.IO.File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "data", "gru_i1_h8.onnx")), "this looks like an ONNX model, not safetensors" },
        };
    }

    [Theory]
    [MemberData(nameof(FilesGivenByMistake))]
    public void A_file_of_another_format_is_named_with_what_to_do(string kind, byte[] bytes, string expected)
    {
        var e = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Parse(bytes));
        Assert.True(e.Message.StartsWith(expected, StringComparison.Ordinal), $"{kind}: {e.Message}");
        Assert.DoesNotContain("header length", e.Message);
        if (kind is "torch.save" or "legacy torch.save")
        {
            Assert.Contains("save_file(model.state_dict(), \"model.safetensors\")", e.Message);
        }

        if (kind is "ONNX")
        {
            Assert.Contains("embedded-rnn import model.onnx", e.Message); // the command that reads it
        }
    }

    [Fact]
    public void A_safetensors_file_is_never_taken_for_another_format()
    {
        // Header lengths whose bytes mimic the signatures (08 01 12: an ONNX start; 80 02: a pickle) still parse.
        foreach (int headerLength in new[] { 0x120108, 0x0280 })
        {
            var bytes = File("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}".PadRight(headerLength), 4);
            Assert.Equal(headerLength, (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes));
            Assert.Equal(["a"], SafetensorsFile.Parse(bytes).Tensors.Select(t => t.Name));
        }
    }
}

[CollectionDefinition(nameof(CurrentDirectoryCollection), DisableParallelization = true)]
public sealed class CurrentDirectoryCollection;

/// <summary>Where <see cref="SafetensorsFile.Read(string)"/> looks for a relative path; each test puts the current directory back.</summary>
[Collection(nameof(CurrentDirectoryCollection))]
public sealed class CurrentDirectoryTests
{
    [Fact]
    public void A_relative_path_missing_here_is_read_beside_the_application()
    {
        string previous = Environment.CurrentDirectory;
        string elsewhere = Directory.CreateTempSubdirectory("ernn-cwd-").FullName;
        string name = $"ernn-beside-app-{Guid.NewGuid():N}.safetensors";
        string besideApplication = Path.Combine(AppContext.BaseDirectory, name);
        try
        {
            System.IO.File.WriteAllBytes(besideApplication, ReferenceCase.Load("lstm_i1_h8_t5_b1").ParameterFile());
            Environment.CurrentDirectory = elsewhere;
            Assert.False(System.IO.File.Exists(name));
            Assert.Equal(4, SafetensorsFile.Read(name).Tensors.Count);
            Assert.NotNull(LstmI1H8T5B1.FromSafetensors(name));

            // A file in the current directory wins over one beside the application.
            System.IO.File.WriteAllBytes(Path.Combine(elsewhere, name), new SafetensorsWriter().Add("only", [1f], 1).ToArray());
            Assert.Equal("only", SafetensorsFile.Read(name).Tensors.Single().Name);

            string absent = "absent-" + name;
            var e = Assert.Throws<FileNotFoundException>(() => SafetensorsFile.Read(absent));
            Assert.Contains($"safetensors file {absent} does not exist", e.Message);
            Assert.Contains($"current directory ({Path.GetFullPath(absent)})", e.Message);
            Assert.Contains($"beside the application ({Path.Combine(AppContext.BaseDirectory, absent)})", e.Message);
        }
        finally
        {
            Environment.CurrentDirectory = previous;
            System.IO.File.Delete(besideApplication);
            Directory.Delete(elsewhere, recursive: true);
        }
    }
}
