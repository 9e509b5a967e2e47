using System.Globalization;

namespace Embedded.Rnn.Generator.Emit;

/// <summary>Numbers as C# literals: invariant culture, floats as round-trip literals, so output is the same on every host.</summary>
internal static class Literals
{
    public static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Bool(bool value) => value ? "true" : "false";

    /// <summary>A 16-bit pattern (a bfloat16's bits) as a hexadecimal literal.</summary>
    public static string Hex(ushort value) => "0x" + value.ToString("X4", CultureInfo.InvariantCulture);

    public static string Float(float value) =>
        float.IsNaN(value) ? "float.NaN"
        : float.IsPositiveInfinity(value) ? "float.PositiveInfinity"
        : float.IsNegativeInfinity(value) ? "float.NegativeInfinity"
        : Shortest(value) + "f";

    // The fewest significant digits that parse back to the same float. ("R" gives that on .NET but not on the .NET
    // Framework that hosts the compiler in Visual Studio, so a search keeps the output the same on every host.)
    private static string Shortest(float value)
    {
        for (int digits = 1; digits < 9; digits++)
        {
            string text = value.ToString("G" + Int(digits), CultureInfo.InvariantCulture);
            if (float.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture) == value)
            {
                return text;
            }
        }

        return value.ToString("G9", CultureInfo.InvariantCulture);
    }

    /// <summary>"a", "a or b", "a, b or c": alternatives for a message, each in quotes.</summary>
    public static string Alternatives(System.Collections.Generic.IReadOnlyList<string> choices)
    {
        string Quoted(int i) => "\"" + choices[i] + "\"";
        var text = new System.Text.StringBuilder(Quoted(0));
        for (int i = 1; i < choices.Count; i++)
        {
            text.Append(i == choices.Count - 1 ? " or " : ", ").Append(Quoted(i));
        }

        return text.ToString();
    }

    /// <summary>Text for a one-line comment: line breaks (U+2028 and U+2029 too) and other control characters become spaces.</summary>
    public static string OneLine(string text)
    {
        var characters = text.ToCharArray();
        for (int i = 0; i < characters.Length; i++)
        {
            // C# also ends a line at U+2028 and U+2029.
            if (char.IsControl(characters[i]) || characters[i] is '\u2028' or '\u2029')
            {
                characters[i] = ' ';
            }
        }

        return new string(characters);
    }
}
