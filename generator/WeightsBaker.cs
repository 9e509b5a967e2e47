using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Embedded.Rnn.Generator.Json;
using Embedded.Rnn.Generator.Layout;
using Embedded.Rnn.Generator.Model;

namespace Embedded.Rnn.Generator;

/// <summary>
/// Reads the weights a spec bakes into the binary: a safetensors file, base64-encoded because additional files
/// are text (make one with <c>base64 -w0 model.safetensors &gt; model.safetensors.b64</c>). As strict as the
/// runtime loader: exactly the model's tensors, F32, with the model's shapes.
/// </summary>
internal static class WeightsBaker
{
    public static EquatableArray<BakedTensor>? Bake(string base64, ModelSpec spec, out string? error)
    {
        error = null;
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(base64.Trim());
        }
        catch (FormatException)
        {
            error = "the file is not base64 (encode the safetensors file, e.g. base64 -w0 model.safetensors > model.safetensors.b64)";
            return null;
        }

        if (bytes.Length < 8)
        {
            error = "the decoded file is shorter than a safetensors header";
            return null;
        }

        ulong length = BitConverter.ToUInt64(bytes, 0);
        if (length > (ulong)(bytes.Length - 8))
        {
            error = "the safetensors header length does not fit the file (truncated?)";
            return null;
        }

        string header = System.Text.Encoding.UTF8.GetString(bytes, 8, (int)length);
        if (!JsonParser.TryParse(header, out var root, out string? jsonError, out _) || root!.Kind != JsonKind.Object)
        {
            error = "the safetensors header is not a JSON object" + (jsonError is null ? string.Empty : ": " + jsonError);
            return null;
        }

        int dataStart = 8 + (int)length;
        var expected = spec.Parameters().ToList();
        var names = new HashSet<string>(expected.Select(p => p.Name));
        var extra = root.Members.Where(m => m.Name != "__metadata__" && !names.Contains(m.Name)).Select(m => m.Name).ToList();
        if (extra.Count > 0)
        {
            error = $"tensor '{extra[0]}' is not a parameter of this model (expected exactly: {string.Join(", ", names)})";
            return null;
        }

        var baked = new List<BakedTensor>();
        foreach (var (name, shape) in expected)
        {
            var entry = root.Members.FirstOrDefault(m => m.Name == name)?.Value;
            string shapeText = "[" + string.Join(", ", shape) + "]";
            if (entry is null || entry.Kind != JsonKind.Object)
            {
                error = $"tensor '{name}' is missing: expected F32 {shapeText}";
                return null;
            }

            string? dtype = entry.Members.FirstOrDefault(m => m.Name == "dtype")?.Value.Text;
            var shapeValue = entry.Members.FirstOrDefault(m => m.Name == "shape")?.Value;
            var offsets = entry.Members.FirstOrDefault(m => m.Name == "data_offsets")?.Value;
            string actualShape = shapeValue is null ? "none" : "[" + string.Join(", ", shapeValue.Members.Select(m => m.Value.Text)) + "]";
            if (dtype != "F32")
            {
                error = $"tensor '{name}' has dtype {dtype ?? "none"}; expected F32 {shapeText}";
                return null;
            }

            if (actualShape != shapeText)
            {
                error = $"tensor '{name}' has shape {actualShape}; expected {shapeText}";
                return null;
            }

            if (offsets is null || offsets.Members.Count != 2
                || !long.TryParse(offsets.Members[0].Value.Text, NumberStyles.None, CultureInfo.InvariantCulture, out long begin)
                || !long.TryParse(offsets.Members[1].Value.Text, NumberStyles.None, CultureInfo.InvariantCulture, out long end)
                || begin > end || end > bytes.Length - dataStart // compared so that offsets near long.MaxValue cannot overflow past the check
                || end - begin != 4L * shape.Aggregate(1L, (a, b) => a * b))
            {
                error = $"tensor '{name}' has data_offsets that do not match its shape or lie outside the file (truncated?)";
                return null;
            }

            var values = new float[(end - begin) / 4];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = BitConverter.ToSingle(bytes, dataStart + (int)begin + 4 * i); // safetensors is little-endian, as every .NET host here
            }

            // An int8 matrix is rounded here, at build time (WeightsEmitter), and NaN or infinity has no int8 value.
            int nonFinite = Array.FindIndex(values, v => float.IsNaN(v) || float.IsInfinity(v));
            if (spec.Storage == WeightStorage.Int8 && shape.Length == 2 && nonFinite >= 0)
            {
                error = $"tensor '{name}' has {values[nonFinite]} at index {nonFinite}; an int8 model's weight matrices must be finite";
                return null;
            }

            baked.Add(new BakedTensor(name, new EquatableArray<float>(values)));
        }

        return new EquatableArray<BakedTensor>(baked);
    }

    /// <summary>A baked weight matrix's bfloat16 bits, as literals (WeightRounding's rule, as the runtime rounds at load).</summary>
    public static IEnumerable<string> BFloat16Literals(EquatableArray<float> values) =>
        values.Select(v => Emit.Literals.Hex(WeightRounding.ToBFloat16(v)));

    /// <summary>A baked weight matrix (<paramref name="columns"/> per row) as int8 literals and its row scales (WeightRounding's rules).</summary>
    public static (IEnumerable<string> Values, float[] Scales) Int8Literals(EquatableArray<float> values, int columns)
    {
        var scales = Enumerable.Range(0, values.Count / columns).Select(row => WeightRounding.RowScale(values.AsSpan().Slice(row * columns, columns))).ToArray();
        return (values.Select((v, k) => Emit.Literals.Int(WeightRounding.ToInt8(v, scales[k / columns]))), scales);
    }
}
