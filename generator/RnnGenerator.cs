using System;
using System.Linq;
using Embedded.Rnn.Generator.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Embedded.Rnn.Generator;

/// <summary>
/// Finds classes marked <c>[Embedded.Rnn.RnnModel("spec.rnn.json")]</c>, reads their JSON spec from
/// AdditionalFiles, and emits fixed-size recurrent kernels into them. Pipeline: attributed classes and spec
/// files (equatable values only) -> validated <see cref="ModelSpec"/> with diagnostics -> C# source.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class RnnGenerator : IIncrementalGenerator
{
    internal const string AttributeMetadataName = "Embedded.Rnn.RnnModelAttribute";

    /// <summary>Tracking names of the pipeline steps, for incremental-caching tests.</summary>
    internal static class Steps
    {
        public const string Targets = "ModelTargets";
        public const string SpecFiles = "SpecFiles";
        public const string Models = "Models";
    }

    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var targets = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                AttributeMetadataName,
                static (node, _) => node is ClassDeclarationSyntax,
                static (ctx, ct) => Parser.GetTarget(ctx, ct))
            .Where(static t => t is not null)
            .Select(static (t, _) => t!)
            .WithTrackingName(Steps.Targets);

        var specFiles = context.AdditionalTextsProvider
            .Where(static f => f.Path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || f.Path.EndsWith(".b64", StringComparison.OrdinalIgnoreCase))
            .Select(static (f, ct) => new SpecFile(f.Path, f.GetText(ct)?.ToString()))
            .WithTrackingName(Steps.SpecFiles)
            .Collect();

        var models = targets
            .Combine(specFiles)
            .Select(static (pair, ct) => Parser.Parse(pair.Left, pair.Right, ct))
            .WithTrackingName(Steps.Models);

        context.RegisterSourceOutput(models, static (spc, result) =>
        {
            foreach (var diagnostic in result.Diagnostics)
            {
                spc.ReportDiagnostic(diagnostic.ToDiagnostic());
            }

            if (result.Spec is not null)
            {
                spc.AddSource(result.HintName, result.Spec.Target == TargetRuntime.NanoFramework ? NanoEmitter.Emit(result.Spec) : Emitter.Emit(result.Spec));
            }
        });
    }
}
