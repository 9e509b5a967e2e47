using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
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

/// <summary>
/// The MSBuild properties a build makes visible to the generator (build_property.*), from memory. A driver created
/// with <see cref="Training"/> generates training kernels, as a project referencing Embedded.Rnn.Training does.
/// </summary>
internal sealed class InMemoryBuildProperties(IReadOnlyDictionary<string, string> properties) : AnalyzerConfigOptionsProvider
{
    /// <summary>EmbeddedRnnTraining=true: models get the kernels the trainer runs.</summary>
    public static InMemoryBuildProperties Training { get; } = new(new Dictionary<string, string> { ["build_property.EmbeddedRnnTraining"] = "true" });

    /// <summary>No properties: inference-only models, as in a project without the trainer.</summary>
    public static InMemoryBuildProperties None { get; } = new(new Dictionary<string, string>());

    public override AnalyzerConfigOptions GlobalOptions { get; } = new Options(properties);

    public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Options.Empty;

    public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => Options.Empty;

    private sealed class Options(IReadOnlyDictionary<string, string> values) : AnalyzerConfigOptions
    {
        public static Options Empty { get; } = new(new Dictionary<string, string>());

        public override bool TryGetValue(string key, [NotNullWhen(true)] out string? value) => values.TryGetValue(key, out value);
    }
}
