using System.Globalization;

namespace Embedded.Rnn.Generator.Emit;

/// <summary>Numbers as C# literals: invariant culture, floats as round-trip literals, so output is the same on every host.</summary>
internal static class Literals
{
    public static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Float(float value) =>
        float.IsNaN(value) ? "float.NaN"
        : float.IsPositiveInfinity(value) ? "float.PositiveInfinity"
        : float.IsNegativeInfinity(value) ? "float.NegativeInfinity"
        : value.ToString("R", CultureInfo.InvariantCulture) + "f";

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
