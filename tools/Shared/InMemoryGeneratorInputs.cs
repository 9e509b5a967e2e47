using System;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Embedded.Rnn.Hosting;

// Linked as source into every project that runs the generator in memory (the embedded-rnn tool, the fuzz
// targets, the tests, the generator benchmark): they share no library, and these pieces must not drift apart.

/// <summary>The assemblies a compilation bound to a spec references.</summary>
internal static class InMemoryReferences
{
    /// <summary>The running framework's System assemblies (plus mscorlib and netstandard) and Embedded.Rnn.</summary>
    public static ImmutableArray<MetadataReference> FrameworkAndRuntime { get; } =
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .Append(typeof(KernelPath).Assembly.Location)
            .Distinct(StringComparer.Ordinal)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray();
}

/// <summary>A spec or weights file handed to the generator from memory, under the path its diagnostics name.</summary>
internal sealed class InMemoryAdditionalText(string path, string text) : AdditionalText
{
    private readonly SourceText _text = SourceText.From(text);

    public override string Path { get; } = path;

    public override SourceText GetText(CancellationToken cancellationToken = default) => _text;
}
