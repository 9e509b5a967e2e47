using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;

namespace Embedded.Rnn;

/// <summary>Throw helpers the generated code calls on bad arguments; kept out of line so hot paths stay small.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class RnnThrow
{
    /// <summary>Throws: a span has the wrong length; <paramref name="meaning"/> says where the expected length comes from.</summary>
    [DoesNotReturn]
    public static void Length(string parameter, long expected, string meaning, int actual) =>
        throw new ArgumentException($"{parameter} has length {actual}; expected {expected} ({meaning}).", parameter);

    /// <summary>Throws: a span's length is not a multiple of <paramref name="unit"/> (e.g. whole steps); with a unit of 0, not 0.</summary>
    [DoesNotReturn]
    public static void LengthMultiple(string parameter, long unit, string meaning, int actual) =>
        throw new ArgumentException($"{parameter} has length {actual}; expected {(unit == 0 ? "0" : $"a multiple of {unit}")} ({meaning}).", parameter);

    /// <summary>Throws: a span is shorter than <paramref name="minimum"/>.</summary>
    [DoesNotReturn]
    public static void LengthAtLeast(string parameter, long minimum, string meaning, int actual) =>
        throw new ArgumentException($"{parameter} has length {actual}; expected at least {minimum} ({meaning}).", parameter);

    /// <summary>Throws: a layer or direction index is out of range.</summary>
    [DoesNotReturn]
    public static void Index(string parameter, int value, int count) =>
        throw new ArgumentOutOfRangeException(parameter, value, $"{parameter} must be in [0, {count}).");

    /// <summary>
    /// Throws unless <paramref name="ys"/> may be written while <paramref name="xs"/> is read: ys must not overlap xs,
    /// except, when <paramref name="inPlace"/>, by starting exactly where xs starts. The generated code passes inPlace
    /// only where its loops write each output after reading every input it lands on. Checked once, before the loops.
    /// </summary>
    /// <param name="xs">The inputs.</param>
    /// <param name="ys">The outputs.</param>
    /// <param name="inPlace">Whether ys may start exactly where xs starts.</param>
    /// <exception cref="ArgumentException">ys overlaps xs other than as allowed (named after ys).</exception>
    public static void IfOverlapping(ReadOnlySpan<float> xs, ReadOnlySpan<float> ys, bool inPlace)
    {
        if (xs.Overlaps(ys, out int offset) && !(inPlace && offset == 0))
        {
            Overlap(inPlace, offset);
        }
    }

    [DoesNotReturn]
    private static void Overlap(bool inPlace, int offset) =>
        throw new ArgumentException(inPlace
            ? $"ys overlaps xs, {Start(offset, "xs")}; ys must be separate from xs, or start exactly where xs starts (in place)."
            : $"ys overlaps xs, {Start(offset, "xs")}; this call cannot run in place, so ys must be separate from xs.", "ys");

    /// <summary>
    /// Throws if <paramref name="workspace"/> overlaps <paramref name="xs"/> or <paramref name="ys"/> at all: the layers
    /// write the workspace while xs is still to be read, and ys is written while the workspace is read, so no overlap is
    /// safe, not even in place. Pass only the part of the workspace that is used. Checked once, before the loops.
    /// </summary>
    /// <param name="xs">The inputs.</param>
    /// <param name="ys">The outputs.</param>
    /// <param name="workspace">The part of the caller's workspace that is used.</param>
    /// <exception cref="ArgumentException">workspace overlaps xs or ys (named after workspace).</exception>
    public static void IfWorkspaceOverlapping(ReadOnlySpan<float> xs, ReadOnlySpan<float> ys, ReadOnlySpan<float> workspace)
    {
        if (xs.Overlaps(workspace, out int offset))
        {
            WorkspaceOverlap(nameof(xs), offset);
        }

        if (ys.Overlaps(workspace, out offset))
        {
            WorkspaceOverlap(nameof(ys), offset);
        }
    }

    [DoesNotReturn]
    private static void WorkspaceOverlap(string other, int offset) =>
        throw new ArgumentException($"workspace overlaps {other}, {Start(offset, other)}; the workspace must be separate from xs and ys.", "workspace");

    // Where an overlapping span starts, from Span.Overlaps' offset, which is negative when it starts before the other.
    private static string Start(int offset, string other) => offset switch
    {
        0 => $"starting where {other} starts",
        > 0 => $"starting {Floats(offset)} after the start of {other}",
        _ => $"starting {Floats(-(long)offset)} before the start of {other}",
    };

    private static string Floats(long count) => count == 1 ? "1 float" : $"{count} floats";

    /// <summary>Throws unless <paramref name="tensors"/> has one tensor per spec, each of the spec's size.</summary>
    /// <param name="tensors">The tensors.</param>
    /// <param name="specs">What they must be.</param>
    /// <param name="parameter">The caller's parameter that holds them, for the exception.</param>
    public static void IfParametersMismatch(IReadOnlyList<float[]> tensors, IReadOnlyList<ParameterSpec> specs, string parameter)
    {
        ArgumentNullException.ThrowIfNull(tensors, parameter);
        if (tensors.Count != specs.Count)
        {
            throw new ArgumentException($"expected {specs.Count} tensors ({string.Join(", ", specs.Select(s => s.Name))}); got {tensors.Count}.", parameter);
        }

        for (int i = 0; i < specs.Count; i++)
        {
            if (tensors[i] is null || tensors[i].Length != specs[i].ElementCount)
            {
                throw new ArgumentException($"tensor '{specs[i].Name}' has {tensors[i]?.Length ?? 0} values; expected {specs[i].ElementCount} ({specs[i].ShapeText}).", parameter);
            }
        }
    }
}
