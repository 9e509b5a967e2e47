using System.Globalization;
using Embedded.Rnn.Training;

namespace Embedded.Rnn.Tool;

/// <summary>
/// How <c>embedded-rnn train</c> turns a CSV file into training sequences. The file has a header row; each row
/// is one time step. <c>--inputs</c> names the feature columns (default: every column that is not a target),
/// <c>--targets</c> the target columns; a column may be both (forecasting a series from its own past).
/// Sequences are windows of <c>--window</c> consecutive rows, starting every <c>--stride</c> rows. The target of
/// a window is the target columns <c>--horizon</c> rows after its last row (sequence-to-one), or after each of
/// its rows (sequence-to-sequence). For cross-entropy with one target column and several outputs, that column
/// holds the class index (0 … outputs − 1), turned into a one-hot target.
/// </summary>
public static class CsvSequences
{
    /// <summary>Builds the examples.</summary>
    /// <exception cref="ToolException">A column is unknown, the counts do not fit the model, or a class index is bad (line and column named).</exception>
    public static IReadOnlyList<TrainingExample> Build(CsvTable table, IReadOnlyList<string>? inputs, IReadOnlyList<string> targets, RnnShape shape,
        int window, int stride, int horizon, bool sequenceToSequence, bool classIndex)
    {
        int Column(string name) => table.Columns.ToList().IndexOf(name) is var i and >= 0
            ? i
            : throw new ToolException($"{table.Source}: no column '{name}' (columns: {string.Join(", ", table.Columns)}).");

        var targetColumns = targets.Select(Column).ToArray();
        var inputColumns = (inputs is { Count: > 0 } ? inputs.Select(Column) : Enumerable.Range(0, table.Columns.Count).Where(c => !targetColumns.Contains(c))).ToArray();
        if (inputColumns.Length != shape.InputSize)
        {
            throw new ToolException($"{inputColumns.Length} input column(s) ({string.Join(", ", inputColumns.Select(c => table.Columns[c]))}) but the spec's input is {shape.InputSize}; choose them with --inputs.");
        }

        int targetWidth = classIndex ? 1 : shape.OutputSize;
        if (targetColumns.Length != targetWidth)
        {
            throw new ToolException(classIndex
                ? $"a class-index target is one column; got {targetColumns.Length}."
                : $"{targetColumns.Length} target column(s) but the model has {shape.OutputSize} output(s) (the head's output, or the hidden size without a head).");
        }

        var inputValues = inputColumns.Select(table.Numbers).ToArray();
        var targetValues = targetColumns.Select(table.Numbers).ToArray();
        int last = table.RowCount - 1 - horizon; // the last row a window may end on
        if (last < window - 1)
        {
            throw new ToolException($"{table.Source}: {table.RowCount} rows give no window of {window} rows with a target {horizon} row(s) later.");
        }

        var examples = new List<TrainingExample>();
        // long: start + stride may pass int.MaxValue (--stride 2147483647), which wrapped to a negative row.
        for (long next = 0; next + window - 1 <= last; next += stride)
        {
            int start = (int)next;
            var xs = new float[window * shape.InputSize];
            for (int t = 0; t < window; t++)
            {
                for (int i = 0; i < inputValues.Length; i++)
                {
                    xs[t * shape.InputSize + i] = inputValues[i][start + t];
                }
            }

            int steps = sequenceToSequence ? window : 1;
            var ys = new float[steps * shape.OutputSize];
            for (int s = 0; s < steps; s++)
            {
                int row = (sequenceToSequence ? start + s : start + window - 1) + horizon;
                if (classIndex)
                {
                    ys[s * shape.OutputSize + ClassOf(table, targetValues[0][row], row, targetColumns[0], shape.OutputSize)] = 1f;
                }
                else
                {
                    for (int j = 0; j < targetValues.Length; j++)
                    {
                        ys[s * shape.OutputSize + j] = targetValues[j][row];
                    }
                }
            }

            examples.Add(new TrainingExample(xs, ys));
        }

        return examples;
    }

    private static int ClassOf(CsvTable table, float value, int row, int column, int classes)
    {
        if (value != MathF.Floor(value) || value < 0 || value >= classes)
        {
            throw new CsvFormatException(table.Source, table.LineOf(row), column + 1,
                string.Create(CultureInfo.InvariantCulture, $"'{table.Columns[column]}' is {value}; a class index must be an integer from 0 to {classes - 1}."));
        }

        return (int)value;
    }
}
