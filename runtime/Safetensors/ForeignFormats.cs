using System.Buffers.Binary;

namespace Embedded.Rnn.Safetensors;

/// <summary>
/// Recognises the files users hand to a safetensors reader by mistake, from their first bytes, so the error says what
/// the file is and how to get safetensors from it instead of "header length 8031177557570357000 does not fit".
/// </summary>
internal static class ForeignFormats
{
    // (Not u8 string literals: "\u0089" would encode as two UTF-8 bytes.)
    private static ReadOnlySpan<byte> Hdf5Signature => [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0D, 0x0A, 0x1A, 0x0A];

    private static ReadOnlySpan<byte> NumPySignature => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    private const string SaveAsSafetensors = "in Python: from safetensors.torch import save_file; save_file(model.state_dict(), \"model.safetensors\")";

    /// <summary>What the file is and what to do, or null when it may be safetensors (or is nothing recognised).</summary>
    public static string? Describe(ReadOnlySpan<byte> file)
    {
        if (LooksLikeSafetensors(file, file.Length))
        {
            return null; // a safetensors header: parse it, whatever its faults
        }

        if (LooksLikeZip(file))
        {
            if (file.IndexOf("data.pkl"u8) >= 0)
            {
                return "this is a PyTorch torch.save file (a zip holding a pickle), not safetensors; .NET does not run pickles. Load it in PyTorch and save the state_dict as safetensors, " + SaveAsSafetensors;
            }

            if (file.IndexOf("model.weights.h5"u8) >= 0)
            {
                return "this is a Keras .keras model (a zip with config.json and model.weights.h5), not safetensors; embedded-rnn import reads Keras models (embedded-rnn import model.keras --name NAME writes the spec and safetensors weights)";
            }

            return "this is a zip archive (a NumPy .npz, a .keras model or another archive), not a safetensors file";
        }

        if (file.Length > 1 && file[0] == 0x80 && file[1] is >= 2 and <= 5)
        {
            return "this is a Python pickle (a torch.save file in the legacy format?), not safetensors; .NET does not run pickles. Load it in PyTorch and save the state_dict as safetensors, " + SaveAsSafetensors;
        }

        if (LooksLikeHdf5(file))
        {
            return "this is an HDF5 file (a Keras .h5 model?), not safetensors; embedded-rnn import reads Keras models saved whole (embedded-rnn import model.h5 --name NAME writes the spec and safetensors weights)";
        }

        if (file.StartsWith(NumPySignature))
        {
            return "this is a NumPy .npy array, not safetensors: save the model's tensors by name with safetensors (safetensors.numpy.save_file, PyTorch state_dict names)";
        }

        if (LooksLikeOnnx(file))
        {
            return "this looks like an ONNX model, not safetensors; embedded-rnn import reads ONNX (embedded-rnn import model.onnx --name NAME writes the spec and safetensors weights)";
        }

        return null;
    }

    /// <summary>
    /// True when the start of a file of <paramref name="fileLength"/> bytes is a safetensors header's: its length (8 bytes,
    /// little-endian) within the file, then '{'. Checked before the other formats: a few header lengths begin with bytes
    /// that <see cref="LooksLikeOnnx"/> would take for ONNX's.
    /// </summary>
    public static bool LooksLikeSafetensors(ReadOnlySpan<byte> start, long fileLength) =>
        start.Length > 8 && start[8] == (byte)'{' && BinaryPrimitives.ReadUInt64LittleEndian(start) < (ulong)fileLength;

    /// <summary>True when the bytes start like a zip archive (a .keras model, a torch.save file, a .npz).</summary>
    public static bool LooksLikeZip(ReadOnlySpan<byte> file) => file.StartsWith("PK\u0003\u0004"u8);

    /// <summary>True when the bytes start with HDF5's signature (legacy Keras models are HDF5; the Keras importer reads this too).</summary>
    public static bool LooksLikeHdf5(ReadOnlySpan<byte> file) => file.StartsWith(Hdf5Signature);

    /// <summary>
    /// True when the bytes start like an ONNX ModelProto: field 1 (ir_version, a small varint), then producer_name
    /// (field 2), graph (7) or opset_import (8). The ONNX importer (import/, which links this file) reads this too.
    /// </summary>
    public static bool LooksLikeOnnx(ReadOnlySpan<byte> file) =>
        file.Length > 3 && file[0] == 0x08 && file[1] is >= 1 and <= 15 && file[2] is 0x12 or 0x1A or 0x3A or 0x42;
}
