using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;

namespace Embedded.Rnn;

/// <summary>Throw helpers the generated code calls on bad arguments; kept out of line so hot paths stay small.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class RnnThrow
{
    /// <summary>Throws: a span has the wrong length.</summary>
    [DoesNotReturn]
    public static void Length(string parameter, string expected, int actual) =>
        throw new ArgumentException($"{parameter} has length {actual}; expected {expected}.", parameter);

    /// <summary>Throws: a layer or direction index is out of range.</summary>
    [DoesNotReturn]
    public static void Index(string parameter, int value, int count) =>
        throw new ArgumentOutOfRangeException(parameter, value, $"{parameter} must be in [0, {count}).");
}
