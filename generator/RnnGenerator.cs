using System;
using System.Linq;
using Embedded.Rnn.Generator.Diagnostics;
using Embedded.Rnn.Generator.Emit;
using Embedded.Rnn.Generator.Model;
using Embedded.Rnn.Generator.Layout;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Embedded.Rnn.Generator;

/// <summary>
/// Finds classes marked <c>[Embedded.Rnn.RnnModel("spec.rnn.json")]</c>, reads their JSON spec from
/// AdditionalFiles, and emits fixed-size recurrent kernels into them. Pipeline: attributed classes and spec
/// files (equatable values only) -> validated <see cref="ModelSpec"/> with diagnostics -> C# source.
/// Diagnostics and source are separate outputs, so a diagnostic that only moves does not re-emit the source.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class RnnGenerator : IIncrementalGenerator
{
    internal const string AttributeMetadataName = "Embedded.Rnn.RnnModelAttribute";

    /// <summary>The MSBuild property that asks for training kernels (the Embedded.Rnn.Training package sets it).</summary>
    internal const string TrainingProperty = "build_property.EmbeddedRnnTraining";

    /// <summary>Set by the Embedded.Rnn package's build rules when they make every *.rnn.json in the project an AdditionalFiles item.</summary>
    internal const string DefaultSpecItemsProperty = "build_property.EmbeddedRnnDefaultSpecItems";

    /// <summary>The project's directory, for ERNN001's "does not exist" message.</summary>
    internal const string ProjectDirectoryProperty = "build_property.MSBuildProjectDirectory";

    /// <summary>Tracking names of the pipeline steps, for incremental-caching tests.</summary>
    internal static class Steps
    {
        public const string Targets = "ModelTargets";
        public const string SpecFiles = "SpecFiles";
        public const string Models = "Models";
        public const string Training = "Training";
        public const string BuildOptions = "BuildOptions";
        public const string Stubs = "Stubs";
        public const string Specs = "Specs";
        public const string Diagnostics = "Diagnostics";
        public const string HintNames = "HintNames";
    }

    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var targets = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                AttributeMetadataName,
                // Records too, so that [RnnModel] on a record is reported rather than ignored.
                static (node, _) => node is ClassDeclarationSyntax or RecordDeclarationSyntax,
                static (ctx, ct) => Parser.GetTarget(ctx, ct))
            .Where(static t => t is not null)
            .Select(static (t, _) => t!)
            .WithTrackingName(Steps.Targets);

        var specFiles = context.AdditionalTextsProvider
            .Where(static f => f.Path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || f.Path.EndsWith(".b64", StringComparison.OrdinalIgnoreCase))
            .Select(static (f, ct) => new SpecFile(f.Path, f.GetText(ct)?.ToString()))
            .WithTrackingName(Steps.SpecFiles)
            .Collect();

        var training = context.AnalyzerConfigOptionsProvider
            .Select(static (options, _) => options.GlobalOptions.TryGetValue(TrainingProperty, out string? value)
                && string.Equals(value?.Trim(), "true", StringComparison.OrdinalIgnoreCase))
            .WithTrackingName(Steps.Training);

        var buildOptions = context.AnalyzerConfigOptionsProvider
            .Select(static (options, _) =>
            {
                options.GlobalOptions.TryGetValue(ProjectDirectoryProperty, out string? directory);
                return new BuildOptions(
                    options.GlobalOptions.TryGetValue(DefaultSpecItemsProperty, out string? on) && string.Equals(on?.Trim(), "true", StringComparison.OrdinalIgnoreCase),
                    string.IsNullOrWhiteSpace(directory) ? null : directory!.Trim());
            })
            .WithTrackingName(Steps.BuildOptions);

        var models = targets
            .Combine(specFiles)
            .Combine(buildOptions)
            .Select(static (pair, ct) => Parser.Parse(pair.Left.Left, pair.Left.Right, pair.Right, ct))
            .WithTrackingName(Steps.Models);

        var specs = models
            .Select(static (result, _) => result.Spec)
            .Where(static spec => spec is not null)
            .Combine(training)
            .Select(static (pair, _) => pair.Left! with { TrainingKernels = WantsTrainingKernels(pair.Right, pair.Left!.Target, pair.Left!.Storage) })
            .WithTrackingName(Steps.Specs);

        // The error-time surface: a model with errors still gives its class the members user code names (StubEmitter).
        var stubs = models
            .Select(static (result, _) => result.Stub)
            .Where(static stub => stub is not null)
            .Combine(training)
            .Select(static (pair, _) => pair.Left! with { TrainingKernels = WantsTrainingKernels(pair.Right, pair.Left!.Target, WeightStorage.Float32) })
            .WithTrackingName(Steps.Stubs);

        var diagnostics = models
            .Select(static (result, _) => result.Diagnostics)
            .WithTrackingName(Steps.Diagnostics);

        // The file names of every model and stand-in generated, for the one check that needs them all (AddSource below).
        var hintNames = specs.Select(static (spec, _) => spec.HintName).Collect()
            .Combine(stubs.Select(static (stub, _) => stub.HintName).Collect())
            .Select(static (names, _) => new EquatableArray<string>(names.Left.Concat(names.Right)))
            .WithTrackingName(Steps.HintNames);

        context.RegisterSourceOutput(specs.Combine(hintNames), static (spc, pair) =>
            AddSource(spc, pair.Left.HintName, pair.Right, pair.Left.Namespace, pair.Left.ClassName,
                () => pair.Left.Target == TargetRuntime.NanoFramework ? NanoEmitter.Emit(pair.Left) : Emitter.Emit(pair.Left)));

        context.RegisterSourceOutput(stubs.Combine(hintNames), static (spc, pair) =>
            AddSource(spc, pair.Left.HintName, pair.Right, pair.Left.Namespace, pair.Left.ClassName, () => StubEmitter.Emit(pair.Left)));

        context.RegisterSourceOutput(diagnostics, static (spc, found) =>
        {
            foreach (var diagnostic in found)
            {
                spc.ReportDiagnostic(diagnostic.ToDiagnostic());
            }
        });
    }

    // Roslyn compares hint names without case (file systems may), so two model classes whose full names differ only in
    // case (App.Net and App.NET) would take one file name: the generator failed, and every model of the project was lost.
    // The one first in ordinal order keeps its model; the other is reported.
    private static void AddSource(SourceProductionContext context, string hintName, EquatableArray<string> allHintNames, string? ns, string className, Func<string> emit)
    {
        if (allHintNames.Any(other => string.Equals(other, hintName, StringComparison.OrdinalIgnoreCase) && string.CompareOrdinal(other, hintName) < 0))
        {
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.NameDiffersOnlyInCase, Location.None, HintNames.FullName(ns, className)));
            return;
        }

        context.AddSource(hintName, emit());
    }

    // Training kernels when the project asks for them (EmbeddedRnnTraining), for .NET models with float32 weights only:
    // nanoFramework has no trainer, and a model is trained in float32, then stored narrower.
    private static bool WantsTrainingKernels(bool requested, TargetRuntime target, WeightStorage storage) =>
        requested && target == TargetRuntime.Dotnet && storage == WeightStorage.Float32;
}
