using System.Globalization;
using System.Text;
using CsCheck;
using Embedded.Rnn.Fuzz;
using Embedded.Rnn.Safetensors;
using Embedded.Rnn.Training;
using Xunit;

namespace Embedded.Rnn.Tests;

/// <summary>
/// Property-based tests (CsCheck, random seeds; a failure prints the seed that reproduces it): the spec generator,
/// the safetensors loader and the CSV reader on generated inputs, valid and broken. The invariants are the fuzz
/// targets' (fuzz/Embedded.Rnn.Fuzz/FuzzTargets.cs), so the fuzzers and these tests check one contract.
/// Iteration counts keep the whole class to a few seconds.
/// </summary>
public sealed class PropertyTests
{
    private static readonly string[] TensorNames = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1", "head.weight", "head.bias", "x", "__metadata__"];

    // ---------------------------------------------------------------- safetensors

    private static readonly Gen<(string Name, float[] Values, long[] Shape)> Tensor =
        Gen.Select(Gen.OneOf(TensorNames[..^1]), Gen.Int[0, 3], Gen.Int[0, 5], (name, rows, columns) => (name, rows, columns))
            .SelectMany(t => Gen.Float.Array[t.rows == 0 ? t.columns : t.rows * t.columns].Select(values => (t.name, values, t.rows == 0 ? new long[] { t.columns } : new long[] { t.rows, t.columns })));

    /// <summary>Valid files with random tensors (names, shapes, values, any order).</summary>
    private static readonly Gen<byte[]> ValidFile = Tensor.Array[0, 6].Select(tensors =>
    {
        var writer = new SafetensorsWriter();
        foreach (var (name, values, shape) in tensors.DistinctBy(t => t.Name))
        {
            writer.Add(name, values, shape);
        }

        return writer.ToArray();
    });

    /// <summary>Valid files broken in the ways files break: flipped bytes, truncation, forged numbers and lengths.</summary>
    private static readonly Gen<byte[]> BrokenFile = Gen.Select(ValidFile, Gen.Int[0, 4], Gen.Int, Gen.Int, Gen.Byte, (bytes, how, a, b, value) =>
    {
        var copy = (byte[])bytes.Clone();
        int at = (int)((uint)a % (uint)copy.Length);
        switch (how)
        {
            case 0:
                copy[at] = value;
                return copy;
            case 1:
                return copy[..at];
            case 2: // a digit of the header replaced, so shapes and offsets disagree
                int headerEnd = (int)Math.Min((ulong)copy.Length, 8 + BitConverter.ToUInt64(copy, 0));
                var digits = Enumerable.Range(8, Math.Max(0, headerEnd - 8)).Where(i => char.IsAsciiDigit((char)copy[i])).ToArray();
                if (digits.Length > 0)
                {
                    copy[digits[(int)((uint)b % (uint)digits.Length)]] = (byte)('0' + value % 10);
                }

                return copy;
            case 3:
                BitConverter.GetBytes(((ulong)(uint)a << 32) | (uint)b).CopyTo(copy, 0);
                return copy;
            default: // a huge number where a shape or offset was
                string text = Encoding.Latin1.GetString(copy);
                int digit = text.IndexOfAny("123456789".ToCharArray(), Math.Min(text.Length, 8));
                return digit < 0 ? copy : Encoding.Latin1.GetBytes(text[..digit] + "184467440737095516" + text[digit..]);
        }
    });

    [Fact]
    public void Any_bytes_give_a_model_or_a_safetensors_exception_naming_the_tensor()
    {
        Gen.Frequency((1, Gen.Byte.Array[0, 64]), (4, BrokenFile), (1, ValidFile))
            .Sample(bytes => { FuzzTargets.Safetensors(bytes); }, iter: 3000, threads: 1);
    }

    [Fact]
    public void Written_files_parse_back_to_the_same_tensors_bit_for_bit()
    {
        Tensor.Array[0, 6].Sample(tensors =>
        {
            var distinct = tensors.DistinctBy(t => t.Name).ToArray();
            var writer = new SafetensorsWriter();
            foreach (var (name, values, shape) in distinct)
            {
                writer.Add(name, values, shape);
            }

            var file = SafetensorsFile.Parse(writer.ToArray());
            Assert.Equal(distinct.Select(t => t.Name).Order(StringComparer.Ordinal), file.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
            foreach (var (name, values, shape) in distinct)
            {
                Assert.Equal(shape, file.GetTensor(name).Shape);
                Assert.Equal(values.Select(BitConverter.SingleToInt32Bits), file.ReadAsSingle(name).Select(BitConverter.SingleToInt32Bits));
            }
        }, iter: 500, threads: 1);
    }

    // ---------------------------------------------------------------- specs

    private static readonly string[] Keys = ["cell", "input", "hidden", "layers", "bidirectional", "bias", "head", "output", "activation", "negative_slope", "weights", "target", "hiden"];
    private static readonly string[] Words = ["rnn", "lstm", "gru", "tanh", "relu", "leaky_relu", "none", "sigmoid", "softmax", "dotnet", "nanoFramework", "lstm_i1_h8.safetensors.b64", "", "GRU", "\\u0000", "\\ud800"];

    /// <summary>JSON values of every kind, nested up to three levels, with the spec's keys and words.</summary>
    private static readonly Gen<string> JsonValue = Gen.Recursive<string>((depth, value) => Gen.Frequency(
        (4, Gen.OneOf(Gen.Int[-3, 70].Select(i => i.ToString(CultureInfo.InvariantCulture)), Gen.OneOf("0", "4096", "4097", "1025", "9", "1e400", "-0", "2.5", "1E3", "18446744073709551616", "0.01"))),
        (3, Gen.OneOf(Words).Select(w => $"\"{w}\"")),
        (1, Gen.OneOf("true", "false", "null")),
        (depth < 3 ? 2 : 0, Gen.Select(Gen.OneOf(Keys), value, (k, v) => (k, v)).Array[0, 5].Select(members => "{" + string.Join(", ", members.Select(m => $"\"{m.k}\": {m.v}")) + "}")),
        (depth < 3 ? 1 : 0, value.Array[0, 3].Select(items => "[" + string.Join(",", items) + "]"))));

    /// <summary>Spec-like objects, and the same text cut short or with a character changed.</summary>
    private static readonly Gen<string> SpecText = Gen.Select(
        Gen.Select(Gen.OneOf(Keys), JsonValue, (k, v) => $"\"{k}\": {v}").Array[0, 8].Select(members => "{" + string.Join(", ", members) + "}"),
        Gen.Int[0, 3], Gen.Int, Gen.Char["{}[]\":,0-9e\\ \n\uFEFFa\u00e9"],
        (text, how, at, c) => how switch
        {
            0 => text[..(int)((uint)at % (uint)(text.Length + 1))],
            1 => text.Remove((int)((uint)at % (uint)text.Length), 1).Insert((int)((uint)at % (uint)text.Length), c.ToString()),
            _ => text,
        });

    [Fact]
    public void Any_spec_text_gives_a_model_or_diagnostics_never_an_exception()
    {
        SpecText.Sample(text => { FuzzTargets.Spec(Encoding.UTF8.GetBytes(text)); }, iter: 400, threads: 1);
    }

    [Fact]
    public void Every_spec_within_the_documented_limits_generates_a_model_without_diagnostics()
    {
        var gen = Gen.Select(Gen.OneOf("rnn", "lstm", "gru"), Gen.Int[1, 24], Gen.Int[1, 24], Gen.Int[1, 3], Gen.Bool, Gen.Bool, Gen.Int[0, 6], Gen.OneOf("none", "sigmoid", "tanh", "softmax"))
            .Select((cell, input, hidden, layers, bidirectional, bias, head, activation) =>
                $"{{\"cell\": \"{cell}\", \"input\": {input}, \"hidden\": {hidden}, \"layers\": {layers}, \"bidirectional\": {(bidirectional ? "true" : "false")}, \"bias\": {(bias ? "true" : "false")}" +
                (head == 0 ? "" : $", \"head\": {{\"output\": {head}, \"activation\": \"{activation}\"}}") + "}");
        gen.Sample(spec =>
        {
            var outcome = Generator.GeneratorHarness.Run("using Embedded.Rnn;\nnamespace App;\n[RnnModel(\"models/net.rnn.json\")]\npublic partial class Net { }", ("models/net.rnn.json", spec));
            Assert.Empty(outcome.Diagnostics);
            Assert.Single(outcome.Result.GeneratedSources);
        }, iter: 60, threads: 1);
    }

    // ---------------------------------------------------------------- CSV

    /// <summary>Text that looks like CSV: numbers, quotes, separators, blank and ragged lines, bad numbers.</summary>
    private static readonly Gen<string> CsvText = Gen.Frequency(
        (3, Gen.OneOf("1", "-2.5", "1e3", "", "\"", "\"4\"", "\"a,b\"", "x", "NaN", "1e39", "a", "b", " 3", "\"\"", "\"q\"\"\"")),
        (1, Gen.Char["0123456789.,-+e\"\n\r ab"].Array[0, 4].Select(c => new string(c))))
        .Array[0, 30]
        .SelectMany(fields => Gen.OneOf(",", "\n", "\r\n").Array[fields.Length].Select(separators => string.Concat(fields.Select((f, i) => f + separators[i]))));

    [Fact]
    public void Any_csv_text_gives_a_table_or_an_error_at_a_line_and_column_that_exist()
    {
        CsvText.Sample(text =>
        {
            // Line breaks as TextReader.ReadLine (and CsvTable) count them: \r\n, \n, or a lone \r.
            int lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n', '\r').Length;
            try
            {
                var table = CsvTable.Parse(new StringReader(text), "p.csv");
                for (int c = 0; c < table.Columns.Count; c++)
                {
                    Assert.All(table.Numbers(c), v => Assert.True(float.IsFinite(v)));
                    Assert.Equal(table.RowCount, table.Numbers(c).Length);
                }
            }
            catch (CsvFormatException e)
            {
                Assert.InRange(e.Line, 1, lines + 1);
                Assert.InRange(e.Column, 0, text.Count(ch => ch == ',') + 2);
                Assert.StartsWith($"p.csv, line {e.Line}", e.Message);
            }
        }, iter: 3000, threads: 1);
    }

    [Fact]
    public void Written_tables_read_back_bit_for_bit()
    {
        Gen.Select(Gen.Int[1, 5], Gen.Int[0, 20]).SelectMany((columns, rows) => Gen.Single.Array[columns * rows].Select(v => (columns, rows, v)))
            .Sample((columns, rows, values) =>
            {
                var finite = values.Select(v => float.IsFinite(v) ? v : 0f).ToArray();
                var text = new StringBuilder(string.Join(",", Enumerable.Range(0, columns).Select(c => $"c{c}")) + "\n");
                for (int r = 0; r < rows; r++)
                {
                    text.AppendLine(string.Join(",", Enumerable.Range(0, columns).Select(c => finite[r * columns + c].ToString("R", CultureInfo.InvariantCulture))));
                }

                var table = CsvTable.Parse(new StringReader(text.ToString()), "p.csv");
                Assert.Equal(rows, table.RowCount);
                for (int c = 0; c < columns; c++)
                {
                    Assert.Equal(Enumerable.Range(0, rows).Select(r => BitConverter.SingleToInt32Bits(finite[r * columns + c])), table.Numbers(c).Select(BitConverter.SingleToInt32Bits));
                }
            }, iter: 500, threads: 1);
    }
}
