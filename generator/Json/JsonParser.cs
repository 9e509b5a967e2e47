using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Embedded.Rnn.Generator.Json;

/// <summary>
/// A small strict JSON parser (RFC 8259) that keeps positions, so spec errors point at the exact line and
/// column. It never throws: <see cref="TryParse"/> returns the error and its offset instead.
/// </summary>
internal sealed class JsonParser
{
    private const int MaxDepth = 32;
    private readonly string _text;
    private int _position;
    private string? _error;
    private int _errorPosition;

    private JsonParser(string text) => _text = text;

    public static bool TryParse(string text, out JsonValue? value, out string? error, out int errorPosition)
    {
        var parser = new JsonParser(text);
        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            parser._position = 1; // byte-order mark
        }

        parser.SkipWhitespace();
        value = parser.ParseValue(0);
        if (value is not null)
        {
            parser.SkipWhitespace();
            if (parser._position < text.Length)
            {
                parser.Fail("unexpected content after the top-level value");
                value = null;
            }
        }

        error = parser._error;
        errorPosition = parser._errorPosition;
        return value is not null;
    }

    private JsonValue? ParseValue(int depth)
    {
        if (depth > MaxDepth)
        {
            return Fail("nesting is too deep");
        }

        if (_position >= _text.Length)
        {
            return Fail("unexpected end of file; a value is missing");
        }

        char c = _text[_position];
        switch (c)
        {
            case '{': return ParseObject(depth);
            case '[': return ParseArray(depth);
            case '"':
                int start = _position;
                string? s = ParseString();
                return s is null ? null : new JsonValue(JsonKind.String, start, _position - start, s);
            case 't': return ParseLiteral("true", JsonKind.True);
            case 'f': return ParseLiteral("false", JsonKind.False);
            case 'n': return ParseLiteral("null", JsonKind.Null);
            default:
                return c == '-' || (c >= '0' && c <= '9') ? ParseNumber() : Fail($"unexpected character '{c}'");
        }
    }

    private JsonValue? ParseObject(int depth)
    {
        int start = _position++;
        var members = new List<JsonMember>();
        var names = new HashSet<string>();
        SkipWhitespace();
        if (Peek() == '}')
        {
            _position++;
            return new JsonValue(JsonKind.Object, start, _position - start, members: members);
        }

        while (true)
        {
            SkipWhitespace();
            if (Peek() != '"')
            {
                return Fail("expected a property name in double quotes");
            }

            int nameStart = _position;
            string? name = ParseString();
            if (name is null)
            {
                return null;
            }

            int nameLength = _position - nameStart;
            if (!names.Add(name))
            {
                _position = nameStart;
                return Fail($"duplicate property '{name}'");
            }

            SkipWhitespace();
            if (Peek() != ':')
            {
                return Fail("expected ':' after the property name");
            }

            _position++;
            SkipWhitespace();
            var value = ParseValue(depth + 1);
            if (value is null)
            {
                return null;
            }

            members.Add(new JsonMember(name, nameStart, nameLength, value));
            SkipWhitespace();
            char next = Peek();
            _position++;
            if (next == '}')
            {
                return new JsonValue(JsonKind.Object, start, _position - start, members: members);
            }

            if (next != ',')
            {
                _position--;
                return Fail(next == '\0' ? "unexpected end of file; the object is not closed" : "expected ',' or '}' in the object");
            }
        }
    }

    private JsonValue? ParseArray(int depth)
    {
        int start = _position++;
        var items = new List<JsonMember>();
        SkipWhitespace();
        if (Peek() == ']')
        {
            _position++;
            return new JsonValue(JsonKind.Array, start, _position - start, members: items);
        }

        while (true)
        {
            SkipWhitespace();
            var value = ParseValue(depth + 1);
            if (value is null)
            {
                return null;
            }

            items.Add(new JsonMember(string.Empty, value.Start, 0, value));
            SkipWhitespace();
            char next = Peek();
            _position++;
            if (next == ']')
            {
                return new JsonValue(JsonKind.Array, start, _position - start, members: items);
            }

            if (next != ',')
            {
                _position--;
                return Fail(next == '\0' ? "unexpected end of file; the array is not closed" : "expected ',' or ']' in the array");
            }
        }
    }

    private string? ParseString()
    {
        _position++; // opening quote
        var builder = new StringBuilder();
        while (_position < _text.Length)
        {
            char c = _text[_position++];
            if (c == '"')
            {
                return builder.ToString();
            }

            if (c < ' ')
            {
                _position--;
                Fail("control character in a string");
                return null;
            }

            if (c != '\\')
            {
                builder.Append(c);
                continue;
            }

            if (_position >= _text.Length)
            {
                break;
            }

            char e = _text[_position++];
            switch (e)
            {
                case '"': builder.Append('"'); break;
                case '\\': builder.Append('\\'); break;
                case '/': builder.Append('/'); break;
                case 'b': builder.Append('\b'); break;
                case 'f': builder.Append('\f'); break;
                case 'n': builder.Append('\n'); break;
                case 'r': builder.Append('\r'); break;
                case 't': builder.Append('\t'); break;
                case 'u':
                    if (_position + 4 > _text.Length
                        || !int.TryParse(_text.Substring(_position, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code))
                    {
                        Fail("invalid \\u escape");
                        return null;
                    }

                    builder.Append((char)code);
                    _position += 4;
                    break;
                default:
                    _position -= 2;
                    Fail($"invalid escape '\\{e}'");
                    return null;
            }
        }

        Fail("unterminated string");
        return null;
    }

    private JsonValue? ParseNumber()
    {
        int start = _position;
        if (Peek() == '-')
        {
            _position++;
        }

        if (Peek() == '0')
        {
            _position++;
        }
        else if (!Digits())
        {
            return Fail("invalid number");
        }

        if (Peek() == '.')
        {
            _position++;
            if (!Digits())
            {
                return Fail("invalid number: digits must follow '.'");
            }
        }

        if (Peek() == 'e' || Peek() == 'E')
        {
            _position++;
            if (Peek() == '+' || Peek() == '-')
            {
                _position++;
            }

            if (!Digits())
            {
                return Fail("invalid number: digits must follow the exponent");
            }
        }

        return new JsonValue(JsonKind.Number, start, _position - start, _text.Substring(start, _position - start));
    }

    private bool Digits()
    {
        int start = _position;
        while (_position < _text.Length && _text[_position] >= '0' && _text[_position] <= '9')
        {
            _position++;
        }

        return _position > start;
    }

    private JsonValue? ParseLiteral(string literal, JsonKind kind)
    {
        if (string.CompareOrdinal(_text, _position, literal, 0, literal.Length) != 0)
        {
            return Fail("unexpected word; expected a value such as a number, a string, true, false or null");
        }

        int start = _position;
        _position += literal.Length;
        return new JsonValue(kind, start, literal.Length);
    }

    private char Peek() => _position < _text.Length ? _text[_position] : '\0';

    private void SkipWhitespace()
    {
        while (_position < _text.Length && (_text[_position] == ' ' || _text[_position] == '\t' || _text[_position] == '\n' || _text[_position] == '\r'))
        {
            _position++;
        }
    }

    private JsonValue? Fail(string message)
    {
        if (_error is null)
        {
            _error = message;
            _errorPosition = _position;
        }

        return null;
    }
}
