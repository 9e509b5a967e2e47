using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Embedded.Rnn.Generator.Model;

/// <summary>A source position kept as plain values (a <see cref="Location"/> would defeat caching).</summary>
internal sealed record LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
{
    public Location ToLocation() => Location.Create(FilePath, Span, LineSpan);

    public static LocationInfo? From(Location? location) =>
        location is null || location.SourceTree is null
            ? null
            : new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);
}
