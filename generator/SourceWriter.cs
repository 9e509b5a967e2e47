using System.Text;

namespace Embedded.Rnn.Generator;

/// <summary>A minimal indented writer; '{' and '}' lines move the indentation.</summary>
internal sealed class SourceWriter
{
    private readonly StringBuilder _builder = new();
    private int _indent;

    public SourceWriter Line(string text = "")
    {
        if (text.StartsWith("}", System.StringComparison.Ordinal))
        {
            _indent--;
        }

        if (text.Length > 0)
        {
            _builder.Append(' ', _indent * 4);
        }

        _builder.Append(text).Append('\n');
        if (text.EndsWith("{", System.StringComparison.Ordinal))
        {
            _indent++;
        }

        return this;
    }

    public override string ToString() => _builder.ToString();
}
