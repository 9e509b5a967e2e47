using System.Collections.Generic;
using System.Linq;

namespace Embedded.Rnn.Generator.Cells;

/// <summary>The cells a spec can name. A new cell is a definition (one file here), its runtime operator, and this line.</summary>
internal static class Cells
{
    public static readonly CellReader[] All = { RnnCell.Reader, LstmCell.Reader, GruCell.Reader };

    /// <summary>The "cell" values, for messages: "rnn", "lstm" or "gru".</summary>
    public static string Names => Emit.Literals.Alternatives(All.Select(c => c.Name).ToArray());

    /// <summary>Every cell-specific field, for the list of known spec fields.</summary>
    public static IEnumerable<string> FieldNames => All.SelectMany(c => c.Fields).Select(f => f.Name).Distinct();
}
