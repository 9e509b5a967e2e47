using System.Collections.Generic;

namespace Embedded.Rnn.Generator.Json;

internal enum JsonKind
{
    Object,
    Array,
    String,
    Number,
    True,
    False,
    Null,
}

/// <summary>A parsed JSON value with its character span in the spec file, for precise diagnostics.</summary>
internal sealed class JsonValue
{
    public JsonValue(JsonKind kind, int start, int length, string? text = null, List<JsonMember>? members = null)
    {
        Kind = kind;
        Start = start;
        Length = length;
        Text = text;
        Members = members ?? new List<JsonMember>();
    }

    public JsonKind Kind { get; }

    public int Start { get; }

    public int Length { get; }

    /// <summary>The decoded string, or the number's literal text.</summary>
    public string? Text { get; }

    /// <summary>Object members in file order.</summary>
    public List<JsonMember> Members { get; }

    /// <summary>The value as written, shortened, for messages.</summary>
    public string Display => Kind switch
    {
        JsonKind.String => "\"" + Text + "\"",
        JsonKind.Number => Text!,
        JsonKind.True => "true",
        JsonKind.False => "false",
        JsonKind.Null => "null",
        JsonKind.Array => "an array",
        _ => "an object",
    };
}

/// <summary>An object member: the key (with the span of its quoted name) and the value.</summary>
internal sealed class JsonMember
{
    public JsonMember(string name, int nameStart, int nameLength, JsonValue value)
    {
        Name = name;
        NameStart = nameStart;
        NameLength = nameLength;
        Value = value;
    }

    public string Name { get; }

    public int NameStart { get; }

    public int NameLength { get; }

    public JsonValue Value { get; }
}
