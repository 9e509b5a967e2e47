using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Threading;
using Embedded.Rnn.Generator.Cells;
using Embedded.Rnn.Generator.Diagnostics;
using Embedded.Rnn.Generator.Emit;
using Embedded.Rnn.Generator.Json;
using Embedded.Rnn.Generator.Layout;
using Embedded.Rnn.Generator.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace Embedded.Rnn.Generator;

public sealed partial class RnnGenerator
{
    /// <summary>Turns an attributed class and the project's spec files into a validated spec plus diagnostics.</summary>
    internal static class Parser
    {
        public const int MaxInput = 4096;
        public const int MaxHidden = 1024;
        public const int MaxLayers = 8;
        public const int MaxHeadOutput = 4096;

        private static readonly string[] TopLevelFields =
            new[] { "cell", "input", "hidden", "layers", "bidirectional", "bias", "head", "weights", "target", "precision" }.Concat(Cells.Cells.FieldNames).ToArray();

        private static readonly string[] HeadFields = { "output", "activation" };

        /// <summary>Reads the facts the pipeline needs from the attributed class; null for all but the first attribute's class part.</summary>
        public static ModelTarget? GetTarget(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            if (context.TargetSymbol is not INamedTypeSymbol type || context.TargetNode is not TypeDeclarationSyntax declaration)
            {
                return null;
            }

            var attributes = context.Attributes;
            var first = attributes.FirstOrDefault();
            var attributeSyntax = first?.ApplicationSyntaxReference?.GetSyntax(cancellationToken);
            // A class in several partial parts is seen once per attributed part: keep the part with the first attribute.
            if (attributeSyntax is null || !declaration.Span.Contains(attributeSyntax.Span) || attributeSyntax.SyntaxTree != declaration.SyntaxTree)
            {
                return null;
            }

            string? specPath = first!.ConstructorArguments.Length == 1 ? first.ConstructorArguments[0].Value as string : null;
            var argumentLocation = (attributeSyntax as AttributeSyntax)?.ArgumentList?.Arguments.FirstOrDefault()?.GetLocation()
                ?? attributeSyntax.GetLocation();
            var parts = type.DeclaringSyntaxReferences.Select(r => r.GetSyntax(cancellationToken)).OfType<TypeDeclarationSyntax>().ToList();
            bool isPartial = parts.All(c => c.Modifiers.Any(SyntaxKind.PartialKeyword));
            // Beyond the shapes the generated part cannot complete: a file-local class (the part would be another class),
            // a primary constructor (the generated constructor would have to call it), and a keyword for a name (@class:
            // the generated code names the class as it is written nowhere else, without the @).
            bool supported = type.ContainingType is null && !type.IsGenericType && !type.IsStatic && !type.IsAbstract
                && !parts.Any(c => c.Modifiers.Any(SyntaxKind.FileKeyword) || c.ParameterList is not null)
                && SyntaxFacts.GetKeywordKind(type.Name) == SyntaxKind.None;
            string? ns = type.ContainingNamespace.IsGlobalNamespace ? null : type.ContainingNamespace.ToDisplayString();
            bool referencesRuntime = context.SemanticModel.Compilation.GetTypeByMetadataName(RuntimeMarkerMetadataName) is not null;
            return new ModelTarget(
                ns,
                type.Name,
                declaration.SyntaxTree.FilePath,
                specPath,
                isPartial,
                supported,
                type.IsRecord,
                attributes.Length,
                LocationInfo.From(argumentLocation),
                LocationInfo.From(declaration.Identifier.GetLocation()),
                new EquatableArray<UserMember>(UserMembers(type, cancellationToken)),
                referencesRuntime,
                KernelsNameTaken(type));
        }

        /// <summary>The generated kernels' class, which the model's part names through an alias a namespace's type would hide.</summary>
        public static string KernelsName(string className) => className + "Kernels";

        // The alias is declared at the top of the generated file: a type of its name in the model's namespace or any
        // namespace around it, the global one included, is found first (or clashes with it, CS0576).
        private static bool KernelsNameTaken(INamedTypeSymbol type)
        {
            for (var ns = type.ContainingNamespace; ns is not null; ns = ns.ContainingNamespace)
            {
                if (ns.GetTypeMembers(KernelsName(type.Name)).Length > 0)
                {
                    return true;
                }
            }

            return false;
        }

        // A type only the .NET runtime package has: a nanoFramework project (mscorlib only) does not reference it.
        private const string RuntimeMarkerMetadataName = "Embedded.Rnn.KernelPath";

        // The members of every part of the class, from syntax (the compilation the generator sees holds the user's parts only).
        // Constructors are kept as ".ctor" (the nanoFramework stand-ins' constructor steps aside for one); explicit interface
        // implementations, operators and indexers take no name that can clash.
        private static IEnumerable<UserMember> UserMembers(INamedTypeSymbol type, CancellationToken cancellationToken)
        {
            UserMember Member(SyntaxToken identifier) => new(identifier.ValueText, LocationInfo.From(identifier.GetLocation()));

            foreach (var part in type.DeclaringSyntaxReferences.Select(r => r.GetSyntax(cancellationToken)).OfType<TypeDeclarationSyntax>())
            {
                foreach (var member in part.Members)
                {
                    switch (member)
                    {
                        case BaseFieldDeclarationSyntax field:
                            foreach (var variable in field.Declaration.Variables)
                            {
                                yield return Member(variable.Identifier);
                            }

                            break;
                        case MethodDeclarationSyntax { ExplicitInterfaceSpecifier: null } method:
                            yield return Member(method.Identifier);
                            break;
                        case PropertyDeclarationSyntax { ExplicitInterfaceSpecifier: null } property:
                            yield return Member(property.Identifier);
                            break;
                        case EventDeclarationSyntax { ExplicitInterfaceSpecifier: null } @event:
                            yield return Member(@event.Identifier);
                            break;
                        case BaseTypeDeclarationSyntax nested:
                            yield return Member(nested.Identifier);
                            break;
                        case DelegateDeclarationSyntax @delegate:
                            yield return Member(@delegate.Identifier);
                            break;
                        case ConstructorDeclarationSyntax { Modifiers: var modifiers } constructor when !modifiers.Any(SyntaxKind.StaticKeyword):
                            yield return new UserMember(".ctor", LocationInfo.From(constructor.Identifier.GetLocation()));
                            break;
                    }
                }
            }
        }

        /// <summary>Finds the target's spec among the additional files, parses and validates it.</summary>
        public static ModelResult Parse(ModelTarget target, ImmutableArray<SpecFile> files, BuildOptions options, CancellationToken cancellationToken)
        {
            var diagnostics = new List<DiagnosticInfo>();
            ModelResult Done(ModelSpec? spec) => new(spec, new EquatableArray<DiagnosticInfo>(diagnostics));

            // A spec error (the class can take members: its shape was checked first) gives the stand-in surface instead of the model.
            ModelResult Failed(TargetRuntime? readTarget, bool clashesReported = false)
            {
                var flavour = readTarget ?? (target.ReferencesRuntime ? TargetRuntime.Dotnet : TargetRuntime.NanoFramework);
                if (!clashesReported)
                {
                    // Without a model, the stand-ins' names are the ones that would clash (and the real model's, once the spec is fixed).
                    ReportClashes(target, StubEmitter.Names(flavour), diagnostics);
                }

                string errorId = diagnostics.First(d => DiagnosticDescriptors.ById(d.Id).DefaultSeverity == DiagnosticSeverity.Error).Id;
                var stub = new StubSpec(target.Namespace, target.ClassName, target.SpecPath ?? string.Empty, errorId, flavour,
                    new EquatableArray<string>(target.Members.Select(m => m.Name).Distinct()));
                return new ModelResult(null, new EquatableArray<DiagnosticInfo>(diagnostics), stub);
            }

            if (target.AttributeCount > 1)
            {
                diagnostics.Add(Info(DiagnosticDescriptors.MultipleModels, target.ClassNameLocation, target.ClassName));
                return Done(null);
            }

            if (!target.IsPartial)
            {
                diagnostics.Add(Info(DiagnosticDescriptors.ClassNotPartial, target.ClassNameLocation, target.ClassName));
            }

            if (target.IsRecord)
            {
                diagnostics.Add(Info(DiagnosticDescriptors.RecordModel, target.ClassNameLocation, target.ClassName));
            }
            else if (!target.IsSupportedShape)
            {
                diagnostics.Add(Info(DiagnosticDescriptors.UnsupportedClass, target.ClassNameLocation, target.ClassName));
            }

            if (target.KernelsNameTaken)
            {
                diagnostics.Add(Info(DiagnosticDescriptors.KernelsNameTaken, target.ClassNameLocation, KernelsName(target.ClassName), target.ClassName));
            }

            if (diagnostics.Count > 0)
            {
                return Done(null);
            }

            var file = FindSpecFile(target, files, options, diagnostics);
            if (file is null)
            {
                return Failed(null);
            }

            cancellationToken.ThrowIfCancellationRequested();
            var reader = new SpecReader(target, file, files, diagnostics);
            var spec = reader.Read();
            if (diagnostics.Any(d => d.Id != DiagnosticDescriptors.UnknownField.Id))
            {
                return Failed(reader.Target);
            }

            if (spec!.Target == TargetRuntime.Dotnet && !target.ReferencesRuntime)
            {
                diagnostics.Add(Info(DiagnosticDescriptors.RuntimeNotReferenced, target.AttributeLocation, target.ClassName));
                return Failed(null); // the stand-ins of the flavour that compiles without the runtime
            }

            // The kernels' alias too: a member of that name would hide it inside the class.
            return ReportClashes(target, [.. GeneratedMembers.Of(spec), KernelsName(target.ClassName)], diagnostics) ? Failed(spec.Target, clashesReported: true) : Done(spec);
        }

        // ERNN017 at each member of the user's part that takes a name the generated code declares: the compiler would
        // report the clash inside the generated file (CS0102/CS0111), which the user cannot open. Methods are included
        // (an overload of a generated method is refused too), so the check needs no signatures. True when any clashed.
        private static bool ReportClashes(ModelTarget target, IReadOnlyList<string> generated, List<DiagnosticInfo> diagnostics)
        {
            var names = new HashSet<string>(generated, StringComparer.Ordinal);
            bool any = false;
            foreach (var member in target.Members.Where(m => names.Contains(m.Name)))
            {
                diagnostics.Add(Info(DiagnosticDescriptors.MemberNameTaken, member.Location, member.Name, target.ClassName));
                any = true;
            }

            return any;
        }

        private static SpecFile? FindSpecFile(ModelTarget target, ImmutableArray<SpecFile> files, BuildOptions options, List<DiagnosticInfo> diagnostics)
        {
            // A path that is rooted, or climbs out of the source's folder (../), names one file: matched whole. Any other
            // names the files whose paths end with it. (Trimming every leading '.' and '/' made "../net.rnn.json" match
            // sub/net.rnn.json and ".models/net.rnn.json" match nothing.)
            string written = Normalize(target.SpecPath ?? string.Empty);
            string path = Collapse(written);
            string sourceDirectory = Normalize(System.IO.Path.GetDirectoryName(target.SourceFilePath) ?? string.Empty);
            string? whole = IsRooted(written) ? path : path.StartsWith("../", StringComparison.Ordinal) ? Collapse(sourceDirectory + "/" + path) : null;
            var matches = path.Length == 0
                ? new List<SpecFile>()
                : files.Where(f => f.Text is not null && (whole is null
                    ? ("/" + Collapse(Normalize(f.Path))).EndsWith("/" + path, StringComparison.Ordinal)
                    : string.Equals(Collapse(Normalize(f.Path)), whole, HasDrive(whole) ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))).ToList();
            if (matches.Count > 1)
            {
                // Prefer the file relative to the source file that holds the attribute.
                var near = matches.Where(f => Collapse(Normalize(f.Path)) == Collapse(sourceDirectory + "/" + path)).ToList();
                if (near.Count == 1)
                {
                    return near[0];
                }

                diagnostics.Add(Info(DiagnosticDescriptors.AmbiguousSpecPath, target.AttributeLocation, target.SpecPath ?? string.Empty,
                    string.Join(", ", matches.Select(m => m.Path))));
                return null;
            }

            if (matches.Count == 0)
            {
                diagnostics.Add(Info(DiagnosticDescriptors.SpecFileNotFound, target.AttributeLocation, target.SpecPath ?? string.Empty,
                    SpecFileNotFoundAdvice(target, path, options)));
                return null;
            }

            return matches[0];
        }

        private static string Normalize(string path) => path.Replace('\\', '/');

        // "/..." or "C:/..." (after Normalize).
        private static bool IsRooted(string path) => path.StartsWith("/", StringComparison.Ordinal) || HasDrive(path);

        // A Windows path, whose file system ignores case.
        private static bool HasDrive(string path) => path.Length > 2 && path[1] == ':' && path[2] == '/';

        // ERNN001's advice. When the package's build rules make every *.rnn.json in the project an AdditionalFiles item
        // (EmbeddedRnnDefaultSpecItems) and the path would lie inside the project, no such file exists: say so, with where
        // the matcher would have found it (beside the source file, or under the project). Otherwise an item may simply be
        // missing; the advice says to check the path or add the item, without claiming the file exists.
        private static string SpecFileNotFoundAdvice(ModelTarget target, string path, BuildOptions options)
        {
            string project = Collapse(Normalize(options.ProjectDirectory ?? string.Empty)).TrimEnd('/');
            string written = Normalize(target.SpecPath ?? string.Empty);
            bool rooted = IsRooted(written);
            // Where the path points as written: relative to the source file (which the matcher prefers) and, unless it climbs
            // out of the source's folder, under the project directory.
            string sourceDirectory = Normalize(System.IO.Path.GetDirectoryName(target.SourceFilePath) ?? string.Empty);
            var candidates = (rooted ? new[] { Collapse(written) }
                : written.StartsWith("../", StringComparison.Ordinal) ? new[] { Collapse(sourceDirectory + "/" + written) }
                : new[] { Collapse(sourceDirectory + "/" + written), Collapse(project + "/" + written) })
                .Distinct().ToList();
            bool InsideProject(string candidate) => candidate.StartsWith(project + "/", StringComparison.Ordinal);
            if (options.DefaultSpecItems && project.Length > 0 && path.EndsWith(".rnn.json", StringComparison.OrdinalIgnoreCase) && candidates.All(InsideProject))
            {
                string looked = string.Join("' or '", candidates.Select(c => c.Substring(project.Length + 1)));
                return $"does not exist: every *.rnn.json in the project is an AdditionalFiles item, and there is no '{looked}' in the project ('{project}'); create the file or correct the path";
            }

            return $"matches no AdditionalFiles item: check the path, or add the file as <AdditionalFiles Include=\"{target.SpecPath}\" />";
        }

        private static string Collapse(string path)
        {
            var parts = new List<string>();
            foreach (string part in path.Split('/'))
            {
                if (part == "..")
                {
                    if (parts.Count > 0 && parts[parts.Count - 1] != "..")
                    {
                        // Above the root is the root, as the file system has it ("/" and "C:" stay).
                        bool root = parts.Count == 1 && (parts[0].Length == 0 || parts[0].EndsWith(":", StringComparison.Ordinal));
                        if (!root)
                        {
                            parts.RemoveAt(parts.Count - 1);
                        }

                        continue;
                    }
                }
                else if (part == "." || (part.Length == 0 && parts.Count > 0))
                {
                    continue;
                }

                parts.Add(part);
            }

            return string.Join("/", parts);
        }

        private static DiagnosticInfo Info(DiagnosticDescriptor descriptor, LocationInfo? location, params string[] arguments) =>
            new(descriptor.Id, location, new EquatableArray<string>(arguments));

        /// <summary>Reads one spec file's JSON into a <see cref="ModelSpec"/>, reporting at exact positions.</summary>
        private sealed class SpecReader : ISpecFields
        {
            private readonly ModelTarget _target;
            private readonly SpecFile _file;
            private readonly List<DiagnosticInfo> _diagnostics;
            private readonly SourceText _text;
            private readonly ImmutableArray<SpecFile> _files;

            public SpecReader(ModelTarget target, SpecFile file, ImmutableArray<SpecFile> files, List<DiagnosticInfo> diagnostics)
            {
                _target = target;
                _file = file;
                _files = files;
                _diagnostics = diagnostics;
                _text = SourceText.From(file.Text!);
            }

            private JsonValue _root = null!;

            /// <summary>The spec's "target" when it reads as one, even if other fields have errors: which stand-ins to emit.</summary>
            public TargetRuntime? Target { get; private set; }

            public ModelSpec? Read()
            {
                if (!JsonParser.TryParse(_file.Text!, out var root, out string? error, out int errorPosition))
                {
                    Report(DiagnosticDescriptors.MalformedJson, errorPosition, 1, _target.SpecPath ?? _file.Path, error!);
                    return null;
                }

                if (root!.Kind != JsonKind.Object)
                {
                    Report(DiagnosticDescriptors.MalformedJson, root, _target.SpecPath ?? _file.Path, "the spec must be a JSON object");
                    return null;
                }

                WarnUnknown(root, TopLevelFields);
                _root = root;
                Target = Member(root, "target")?.Text switch
                {
                    "dotnet" => TargetRuntime.Dotnet,
                    "nanoFramework" => TargetRuntime.NanoFramework,
                    _ => null,
                };
                var cell = ReadCell(root);
                int? input = Size(root, "input", MaxInput, required: true, fallback: 0);
                int? hidden = Size(root, "hidden", MaxHidden, required: true, fallback: 0);
                int? layers = Size(root, "layers", MaxLayers, required: false, fallback: 1);
                bool? bidirectional = Boolean(root, "bidirectional", false);
                bool? bias = Boolean(root, "bias", true);
                var head = ReadHead(root);
                if (cell is null || input is null || hidden is null || layers is null || bidirectional is null || bias is null || head is null)
                {
                    return null;
                }

                var spec = new ModelSpec(_target.Namespace, _target.ClassName, _target.SpecPath!, cell, input.Value, hidden.Value,
                    layers.Value, bidirectional.Value, bias.Value, head.Value.Spec, default);
                var targetValue = Member(root, "target");
                if (targetValue is not null)
                {
                    switch (targetValue.Kind == JsonKind.String ? targetValue.Text : null)
                    {
                        case "dotnet": break;
                        case "nanoFramework": spec = spec with { Target = TargetRuntime.NanoFramework }; break;
                        default:
                            Report(DiagnosticDescriptors.InvalidValue, targetValue, "target", "\"dotnet\" (default) or \"nanoFramework\"", targetValue.Display);
                            return null;
                    }
                }

                var precision = Member(root, "precision");
                if (precision is not null)
                {
                    if (!KernelLayout.TryParsePrecision(precision.Kind == JsonKind.String ? precision.Text : null, out var storage))
                    {
                        Report(DiagnosticDescriptors.InvalidValue, precision, "precision", "\"f32\" (default), \"bf16\" or \"int8\"", precision.Display);
                        return null;
                    }

                    spec = spec with { Storage = storage };
                }

                var weights = Member(root, "weights");
                if (weights is null)
                {
                    return spec;
                }

                var baked = ReadWeights(weights, spec);
                return baked is null ? null : spec with { BakedWeights = baked.Value };
            }

            // "weights": a file beside the spec holding a safetensors file in base64 (AdditionalFiles are text).
            private EquatableArray<BakedTensor>? ReadWeights(JsonValue value, ModelSpec spec)
            {
                if (value.Kind != JsonKind.String || string.IsNullOrWhiteSpace(value.Text))
                {
                    Report(DiagnosticDescriptors.InvalidValue, value, "weights", "the path of a base64 safetensors file, relative to the spec", value.Display);
                    return null;
                }

                string directory = Normalize(System.IO.Path.GetDirectoryName(_file.Path) ?? string.Empty);
                string written = Normalize(value.Text!);
                string resolved = Collapse(IsRooted(written) ? written : directory + "/" + written);
                var file = _files.FirstOrDefault(f => f.Text is not null && Collapse(Normalize(f.Path)) == resolved);
                if (file is null)
                {
                    Report(DiagnosticDescriptors.WeightsFileNotFound, value, value.Text!, resolved);
                    return null;
                }

                var baked = WeightsBaker.Bake(file.Text!, spec, out string? error);
                if (baked is null)
                {
                    Report(DiagnosticDescriptors.WeightsInvalid, value, value.Text!, error!);
                }

                return baked;
            }

            // "cell" names a definition (Cells.All), which reads the fields that are its own; a field of another cell is an error.
            private CellDefinition? ReadCell(JsonValue root)
            {
                var value = Member(root, "cell");
                if (value is null)
                {
                    Report(DiagnosticDescriptors.MissingField, root.Start, 1, "cell", "\"lstm\"");
                    return null;
                }

                var reader = value.Kind == JsonKind.String ? Cells.Cells.All.FirstOrDefault(c => c.Name == value.Text) : null;
                if (reader is null)
                {
                    Report(DiagnosticDescriptors.UnknownCell, value, value.Text ?? value.Display, Cells.Cells.Names);
                    return null;
                }

                bool foreign = false;
                foreach (var field in Cells.Cells.All.Where(c => c != reader).SelectMany(c => c.Fields))
                {
                    if (reader.Fields.All(f => f.Name != field.Name) && Member(root, field.Name) is { } present)
                    {
                        Report(DiagnosticDescriptors.FieldNotApplicable, present, field.Name, field.AppliesTo);
                        foreign = true;
                    }
                }

                return foreign ? null : reader.Read(this);
            }

            JsonValue? ISpecFields.Field(string name) => Member(_root, name);

            string? ISpecFields.Activation(JsonValue value, string what, params string[] choices)
            {
                if (value.Kind == JsonKind.String && Array.IndexOf(choices, value.Text) >= 0)
                {
                    return value.Text;
                }

                Report(DiagnosticDescriptors.UnknownActivation, value, what, value.Text ?? value.Display, Literals.Alternatives(choices));
                return null;
            }

            string? ISpecFields.OneOf(JsonValue value, string name, params string[] choices)
            {
                if (value.Kind == JsonKind.String && Array.IndexOf(choices, value.Text) >= 0)
                {
                    return value.Text;
                }

                Report(DiagnosticDescriptors.InvalidValue, value, name, Literals.Alternatives(choices), value.Display);
                return null;
            }

            float? ISpecFields.NonNegativeNumber(JsonValue value, string name)
            {
                if (value.Kind == JsonKind.Number
                    && float.TryParse(value.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out float number)
                    && !float.IsNaN(number) && !float.IsInfinity(number) && number >= 0f)
                {
                    return number;
                }

                Report(DiagnosticDescriptors.InvalidValue, value, name, "a finite number >= 0", value.Display);
                return null;
            }

            void ISpecFields.NotApplicable(JsonValue value, string name, string appliesTo) =>
                Report(DiagnosticDescriptors.FieldNotApplicable, value, name, appliesTo);

            private (HeadSpec? Spec, bool Ok)? ReadHead(JsonValue root)
            {
                var value = Member(root, "head");
                if (value is null || value.Kind == JsonKind.Null)
                {
                    return (null, true);
                }

                if (value.Kind != JsonKind.Object)
                {
                    Report(DiagnosticDescriptors.InvalidValue, value, "head", "an object such as { \"output\": 4, \"activation\": \"softmax\" }", value.Display);
                    return null;
                }

                WarnUnknown(value, HeadFields);
                int? output = Size(value, "output", MaxHeadOutput, required: true, fallback: 0);
                var activationValue = Member(value, "activation");
                HeadActivation? activation = HeadActivation.None;
                if (activationValue is not null)
                {
                    switch (activationValue.Kind == JsonKind.String ? activationValue.Text : null)
                    {
                        case "none": activation = HeadActivation.None; break;
                        case "sigmoid": activation = HeadActivation.Sigmoid; break;
                        case "tanh": activation = HeadActivation.Tanh; break;
                        case "softmax": activation = HeadActivation.Softmax; break;
                        default:
                            Report(DiagnosticDescriptors.UnknownActivation, activationValue, "head activation", activationValue.Text ?? activationValue.Display,
                                Literals.Alternatives(new[] { "none", "sigmoid", "tanh", "softmax" }));
                            activation = null;
                            break;
                    }
                }

                return output is null || activation is null ? null : (new HeadSpec(output.Value, activation.Value), true);
            }

            private int? Size(JsonValue owner, string name, int max, bool required, int fallback)
            {
                var value = Member(owner, name);
                if (value is null)
                {
                    if (required)
                    {
                        Report(DiagnosticDescriptors.MissingField, owner.Start, 1, name, "16");
                        return null;
                    }

                    return fallback;
                }

                if (value.Kind != JsonKind.Number
                    || !long.TryParse(value.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long number)
                    || number <= 0)
                {
                    Report(DiagnosticDescriptors.InvalidValue, value, name, "a positive integer", value.Display);
                    return null;
                }

                if (number > max)
                {
                    Report(DiagnosticDescriptors.SizeTooLarge, value, name, value.Text!, max.ToString(CultureInfo.InvariantCulture));
                    return null;
                }

                return (int)number;
            }

            private bool? Boolean(JsonValue owner, string name, bool fallback)
            {
                var value = Member(owner, name);
                if (value is null)
                {
                    return fallback;
                }

                if (value.Kind is JsonKind.True or JsonKind.False)
                {
                    return value.Kind == JsonKind.True;
                }

                Report(DiagnosticDescriptors.InvalidValue, value, name, "true or false", value.Display);
                return null;
            }

            private void WarnUnknown(JsonValue owner, string[] known)
            {
                foreach (var member in owner.Members)
                {
                    if (Array.IndexOf(known, member.Name) < 0)
                    {
                        Report(DiagnosticDescriptors.UnknownField, member.NameStart, member.NameLength, member.Name, string.Join(", ", known));
                    }
                }
            }

            private static JsonValue? Member(JsonValue owner, string name) =>
                owner.Members.FirstOrDefault(m => m.Name == name)?.Value;

            private void Report(DiagnosticDescriptor descriptor, JsonValue at, params string[] arguments) =>
                Report(descriptor, at.Start, at.Length, arguments);

            private void Report(DiagnosticDescriptor descriptor, int start, int length, params string[] arguments)
            {
                start = Math.Max(0, Math.Min(start, _text.Length));
                length = Math.Max(0, Math.Min(length, _text.Length - start));
                var span = new TextSpan(start, length);
                var location = new LocationInfo(_file.Path, span, _text.Lines.GetLinePositionSpan(span));
                _diagnostics.Add(Info(descriptor, location, arguments));
            }
        }
    }
}
