using System;
using System.Text;

namespace Embedded.Rnn.Generator.Emit;

/// <summary>
/// A small writer for generated C#: lines at an explicit indentation, blocks opened and closed by the caller, and fixed
/// text written from raw string literals (their lines re-indented to the current level). Lines end in '\n' on every
/// host, so the output is the same bytes everywhere.
/// </summary>
internal sealed class SourceWriter
{
    private const int IndentWidth = 4;
    private readonly StringBuilder _builder = new();
    private int _indent;

    /// <summary>Writes one line at the current indentation (an empty line has no indentation).</summary>
    public SourceWriter Line(string text = "")
    {
        if (text.Length > 0)
        {
            _builder.Append(' ', _indent * IndentWidth);
        }

        _builder.Append(text).Append('\n');
        return this;
    }

    /// <summary>Writes each line of <paramref name="text"/> (a raw string literal) at the current indentation.</summary>
    public SourceWriter Lines(string text)
    {
        foreach (string line in text.Replace("\r\n", "\n").Split('\n'))
        {
            Line(line);
        }

        return this;
    }

    /// <summary>Writes <paramref name="header"/>, then '{', and indents until the returned scope is disposed (which writes '}').</summary>
    public Block Open(string header)
    {
        Line(header);
        Line("{");
        _indent++;
        return new Block(this, "}");
    }

    /// <summary>Writes '{' and indents; for blocks whose end the caller writes elsewhere with <see cref="Close"/>.</summary>
    public SourceWriter Open()
    {
        Line("{");
        _indent++;
        return this;
    }

    /// <summary>Outdents and writes '}', ending a block begun with <see cref="Open()"/>.</summary>
    public SourceWriter Close()
    {
        _indent--;
        TrimBlankLine();
        return Line("}");
    }

    /// <summary>Indents the lines written until the returned scope is disposed.</summary>
    public Block Indent()
    {
        _indent++;
        return new Block(this, null);
    }

    public override string ToString() => _builder.ToString();

    // A block never ends in an empty line (pieces write one after each member).
    private void TrimBlankLine()
    {
        int length = _builder.Length;
        if (length >= 2 && _builder[length - 1] == '\n' && _builder[length - 2] == '\n')
        {
            _builder.Length = length - 1;
        }
    }

    /// <summary>An open block: disposing it outdents and writes its closing line.</summary>
    internal readonly struct Block : IDisposable
    {
        private readonly SourceWriter _writer;
        private readonly string? _closing;

        public Block(SourceWriter writer, string? closing)
        {
            _writer = writer;
            _closing = closing;
        }

        public void Dispose()
        {
            _writer._indent--;
            _writer.TrimBlankLine();
            if (_closing is not null)
            {
                _writer.Line(_closing);
            }
        }
    }
}
