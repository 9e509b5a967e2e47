using System.Globalization;

namespace Embedded.Rnn.Training;

/// <summary>What <see cref="CsvTable"/> does with an empty numeric field.</summary>
public enum MissingValues
{
    /// <summary>An empty field is an error naming its line and column.</summary>
    Reject,
    /// <summary>An empty field is read as <see cref="float.NaN"/>; the caller decides how to fill it.</summary>
    AsNaN,
}

/// <summary>How <see cref="CsvTable"/> reads a file.</summary>
public sealed record CsvReadOptions
{
    /// <summary>The first line names the columns (otherwise they are named "1", "2", …).</summary>
    public bool HasHeader { get; init; } = true;

    /// <summary>Field separator.</summary>
    public char Separator { get; init; } = ',';

    /// <summary>Columns kept as text (for example a date); every other column must hold numbers.</summary>
    public IReadOnlyList<string> TextColumns { get; init; } = [];

    /// <summary>What an empty numeric field means.</summary>
    public MissingValues Missing { get; init; } = MissingValues.Reject;
}

/// <summary>A malformed CSV file: the message names the file, the line and the column.</summary>
public sealed class CsvFormatException(string source, int line, int column, string message)
    : FormatException($"{source}, line {line}{(column > 0 ? $", column {column}" : "")}: {message}")
{
    /// <summary>The file (or source name) read.</summary>
    public string File { get; } = source;

    /// <summary>1-based line in the file.</summary>
    public int Line { get; } = line;

    /// <summary>1-based column, or 0 when the whole line is wrong.</summary>
    public int Column { get; } = column;
}

/// <summary>
/// A small numeric table read strictly from CSV (invariant culture, RFC 4180 quotes): every row has every
/// column, numeric fields are finite numbers, and anything else is a <see cref="CsvFormatException"/> that
/// names the line and column. Files ending in <c>.gz</c> are decompressed. Blank lines are skipped.
/// </summary>
public sealed class CsvTable
{
    private readonly float[][] _numbers;
    private readonly string[][] _texts;
    private readonly int[] _lines;

    private CsvTable(string source, string[] columns, float[][] numbers, string[][] texts, int[] lines)
    {
        Source = source;
        Columns = columns;
        _numbers = numbers;
        _texts = texts;
        _lines = lines;
    }

    /// <summary>The file (or source name) read.</summary>
    public string Source { get; }

    /// <summary>Column names in file order.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>Data rows.</summary>
    public int RowCount => _lines.Length;

    /// <summary>The values of a numeric column (NaN where a field was empty and <see cref="MissingValues.AsNaN"/> was chosen).</summary>
    /// <exception cref="ArgumentException">No such column, or it is a text column.</exception>
    public float[] Numbers(string column) => _numbers[IndexOf(column, text: false)];

    /// <summary>The values of a numeric column by 0-based index.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No column has that index.</exception>
    /// <exception cref="ArgumentException">It is a text column.</exception>
    public float[] Numbers(int column)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(column);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(column, Columns.Count);
        return _numbers[column] ?? throw new ArgumentException($"column {column} ('{Columns[column]}') is a text column.", nameof(column));
    }

    // Empty, or only spaces and tabs (that are not the separator, whose fields would be empty values).
    private static bool IsBlank(string line, char separator) =>
        line.AsSpan().TrimStart(separator == ' ' ? "\t" : separator == '\t' ? " " : " \t").IsEmpty;

    /// <summary>The values of a text column.</summary>
    /// <exception cref="ArgumentException">No such column, or it is numeric.</exception>
    public string[] Texts(string column) => _texts[IndexOf(column, text: true)];

    /// <summary>The file line a data row came from (for messages about its values).</summary>
    public int LineOf(int row) => _lines[row];

    /// <summary>Reads a CSV file (gzip-compressed when the name ends in .gz).</summary>
    /// <exception cref="CsvFormatException">
    /// The file is malformed; the message names the line and column. A .gz file that is not gzip, is damaged or is
    /// truncated is one too (its line is the one being read when that showed), never a shorter table.
    /// </exception>
    public static CsvTable Read(string path, CsvReadOptions? options = null)
    {
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GzipFileStream(path) : File.OpenRead(path);
        using var reader = new StreamReader(stream);
        return Parse(reader, Path.GetFileName(path), options);
    }

    /// <summary>Reads CSV text; <paramref name="source"/> names it in error messages.</summary>
    /// <exception cref="CsvFormatException">
    /// The text is malformed; the message names the line and column. An <see cref="InvalidDataException"/> from
    /// <paramref name="reader"/> (damaged compressed data) becomes one naming the line being read.
    /// </exception>
    public static CsvTable Parse(TextReader reader, string source, CsvReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        options ??= new CsvReadOptions();
        string[]? columns = null;
        bool[]? isText = null;
        var numbers = new List<List<float>>();
        var texts = new List<List<string>>();
        var lines = new List<int>();
        int lineNumber = 0;
        while (ReadLine() is { } line)
        {
            lineNumber++;
            if (lineNumber == 1)
            {
                line = line.TrimStart('\uFEFF'); // a byte order mark that the reader passed on (Parse of text that has one)
            }

            if (IsBlank(line, options.Separator))
            {
                continue;
            }

            var fields = SplitFields(line, options.Separator, source, lineNumber);
            if (columns is null)
            {
                if (options.HasHeader)
                {
                    columns = fields.Select(f => f.Trim()).ToArray();
                    CheckHeader(columns, options, source, lineNumber);
                    (isText, numbers, texts) = Storage(columns, options);
                    continue;
                }

                columns = Enumerable.Range(1, fields.Count).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
                CheckHeader(columns, options, source, lineNumber);
                (isText, numbers, texts) = Storage(columns, options);
            }

            if (fields.Count != columns.Length)
            {
                throw new CsvFormatException(source, lineNumber, 0, $"expected {columns.Length} fields ({string.Join(", ", columns)}); found {fields.Count}.");
            }

            for (int c = 0; c < fields.Count; c++)
            {
                if (isText![c])
                {
                    texts[c].Add(fields[c]);
                    continue;
                }

                string field = fields[c].Trim();
                float value;
                if (field.Length == 0)
                {
                    if (options.Missing == MissingValues.Reject)
                    {
                        throw new CsvFormatException(source, lineNumber, c + 1, $"'{columns[c]}' is empty.");
                    }

                    value = float.NaN;
                }
                else if (!float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out value) || !float.IsFinite(value))
                {
                    throw new CsvFormatException(source, lineNumber, c + 1, $"'{columns[c]}' is '{Shorten(field)}', not a finite number.");
                }

                numbers[c].Add(value);
            }

            lines.Add(lineNumber);
        }

        if (columns is null)
        {
            throw new CsvFormatException(source, Math.Max(lineNumber, 1), 0, "the file is empty.");
        }

        string? ReadLine()
        {
            try
            {
                return reader.ReadLine();
            }
            catch (InvalidDataException error)
            {
                throw new CsvFormatException(source, lineNumber + 1, 0, error.Message);
            }
        }

        return new CsvTable(
            source,
            columns,
            numbers.Select((n, c) => isText![c] ? null! : n.ToArray()).ToArray(),
            texts.Select((t, c) => isText![c] ? t.ToArray() : null!).ToArray(),
            lines.ToArray());
    }

    private static void CheckHeader(string[] columns, CsvReadOptions options, string source, int line)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int c = 0; c < columns.Length; c++)
        {
            if (!seen.Add(columns[c]))
            {
                throw new CsvFormatException(source, line, c + 1, $"column name '{columns[c]}' appears twice.");
            }
        }

        foreach (var text in options.TextColumns)
        {
            if (!seen.Contains(text))
            {
                throw new CsvFormatException(source, line, 0, $"there is no column '{text}' (columns: {string.Join(", ", columns)}).");
            }
        }
    }

    private static (bool[] IsText, List<List<float>> Numbers, List<List<string>> Texts) Storage(string[] columns, CsvReadOptions options)
    {
        var isText = columns.Select(c => options.TextColumns.Contains(c)).ToArray();
        return (isText, columns.Select(_ => new List<float>()).ToList(), columns.Select(_ => new List<string>()).ToList());
    }

    private int IndexOf(string column, bool text)
    {
        for (int c = 0; c < Columns.Count; c++)
        {
            if (Columns[c] == column)
            {
                if ((_texts[c] is not null) != text)
                {
                    throw new ArgumentException($"column '{column}' of {Source} is {(text ? "numeric" : "a text column")}.", nameof(column));
                }

                return c;
            }
        }

        throw new ArgumentException($"{Source} has no column '{column}' (columns: {string.Join(", ", Columns)}).", nameof(column));
    }

    // RFC 4180 fields on one line: quoted fields may hold the separator and doubled quotes.
    private static List<string> SplitFields(string line, char separator, string source, int lineNumber)
    {
        var fields = new List<string>();
        var field = new System.Text.StringBuilder();
        int i = 0;
        while (true)
        {
            field.Clear();
            if (i < line.Length && line[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= line.Length)
                    {
                        throw new CsvFormatException(source, lineNumber, fields.Count + 1, "a quoted field is not closed.");
                    }

                    if (line[i] == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"')
                        {
                            field.Append('"');
                            i += 2;
                            continue;
                        }

                        i++;
                        break;
                    }

                    field.Append(line[i++]);
                }

                if (i < line.Length && line[i] != separator)
                {
                    throw new CsvFormatException(source, lineNumber, fields.Count + 1, "text follows a closing quote.");
                }
            }
            else
            {
                while (i < line.Length && line[i] != separator)
                {
                    field.Append(line[i++]);
                }
            }

            fields.Add(field.ToString());
            if (i >= line.Length)
            {
                return fields;
            }

            i++; // the separator
        }
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
