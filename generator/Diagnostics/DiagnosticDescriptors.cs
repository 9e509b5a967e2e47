using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Embedded.Rnn.Generator.Diagnostics;

/// <summary>Every diagnostic the generator reports, in one place. Ids are stable: never renumber.</summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "Embedded.Rnn";

    public static readonly DiagnosticDescriptor SpecFileNotFound = Error(
        "ERNN001", "Spec file not found",
        // {1}: "does not exist: ..." when the build rules make every *.rnn.json in the project an AdditionalFiles item, else
        // "matches no AdditionalFiles item: check the path, or add ..." (the parser's SpecFileNotFoundAdvice).
        "Spec file '{0}' {1}");

    public static readonly DiagnosticDescriptor MalformedJson = Error(
        "ERNN002", "Spec is not valid JSON",
        "Spec '{0}' is not valid JSON: {1}");

    public static readonly DiagnosticDescriptor UnknownCell = Error(
        "ERNN003", "Unknown cell",
        "Unknown cell '{0}'; use {1}");

    public static readonly DiagnosticDescriptor UnknownActivation = Error(
        "ERNN004", "Unknown activation",
        "Unknown {0} '{1}'; use {2}");

    public static readonly DiagnosticDescriptor MissingField = Error(
        "ERNN005", "Required field missing",
        "The spec has no '{0}'; add it, e.g. \"{0}\": {1}");

    public static readonly DiagnosticDescriptor InvalidValue = Error(
        "ERNN006", "Invalid field value",
        "'{0}' must be {1}; found {2}");

    public static readonly DiagnosticDescriptor SizeTooLarge = Error(
        "ERNN007", "Size too large to unroll",
        "'{0}' is {1}, above the limit of {2} for fixed-size kernels; use a smaller model");

    public static readonly DiagnosticDescriptor UnknownField = new(
        "ERNN008", "Unknown spec field",
        "Unknown field '{0}' is ignored; known fields here: {1}",
        Category, DiagnosticSeverity.Warning, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor ClassNotPartial = Error(
        "ERNN009", "Model class is not partial",
        "Class '{0}' must be declared 'partial' so that [RnnModel] can add the model to it");

    public static readonly DiagnosticDescriptor MultipleModels = Error(
        "ERNN010", "More than one model on a class",
        "Class '{0}' has more than one [RnnModel] attribute; a class holds one model, so declare one class per model");

    public static readonly DiagnosticDescriptor FieldNotApplicable = Error(
        "ERNN011", "Field does not apply to this cell",
        "'{0}' applies only to {1}; remove it");

    public static readonly DiagnosticDescriptor UnsupportedClass = Error(
        "ERNN012", "Unsupported model class",
        "Class '{0}' must be a non-generic, non-static, non-abstract class declared directly in a namespace (not nested), not file-local, without a primary constructor, and not named with a C# keyword");

    public static readonly DiagnosticDescriptor AmbiguousSpecPath = Error(
        "ERNN013", "Spec path is ambiguous",
        "Spec path '{0}' matches several AdditionalFiles ({1}); give a longer path");

    public static readonly DiagnosticDescriptor WeightsFileNotFound = Error(
        "ERNN014", "Weights file not found",
        "Weights file '{0}' (resolved to '{1}') is not among the project's AdditionalFiles; add it, e.g. <AdditionalFiles Include=\"{1}\" />");

    public static readonly DiagnosticDescriptor WeightsInvalid = Error(
        "ERNN015", "Weights file does not fit the model",
        "Weights file '{0}': {1}");

    public static readonly DiagnosticDescriptor RecordModel = Error(
        "ERNN016", "Model type is a record",
        "'{0}' is a record; [RnnModel] adds a model to a class (a record's generated equality and printing would act on the weights): declare it 'partial class {0}'");

    public static readonly DiagnosticDescriptor MemberNameTaken = Error(
        "ERNN017", "Member name taken by the generated model",
        "'{0}' is a member the generator defines in '{1}' (the model's generated part declares it); rename yours");

    public static readonly DiagnosticDescriptor KernelsNameTaken = Error(
        "ERNN018", "Type name taken by the generated model",
        "'{0}' is the name the generated code gives the kernels of '{1}', and a type of that name in its namespace or one around it would hide them; rename one");

    public static readonly DiagnosticDescriptor RuntimeNotReferenced = Error(
        "ERNN019", "Embedded.Rnn runtime not referenced",
        "'{0}' is a .NET model, but the project does not reference the Embedded.Rnn runtime its code calls: add the Embedded.Rnn package, or set \"target\": \"nanoFramework\" in the spec");

    public static readonly DiagnosticDescriptor NameDiffersOnlyInCase = Error(
        "ERNN020", "Model class names differ only in case",
        "The model class '{0}' differs from another model class only in case, so their generated files would have one name; rename one");

    public static IEnumerable<DiagnosticDescriptor> All => new[]
    {
        SpecFileNotFound, MalformedJson, UnknownCell, UnknownActivation, MissingField, InvalidValue, SizeTooLarge,
        UnknownField, ClassNotPartial, MultipleModels, FieldNotApplicable, UnsupportedClass, AmbiguousSpecPath,
        WeightsFileNotFound, WeightsInvalid, RecordModel, MemberNameTaken, KernelsNameTaken, RuntimeNotReferenced,
        NameDiffersOnlyInCase,
    };

    public static DiagnosticDescriptor ById(string id) => All.First(d => d.Id == id);

    private static DiagnosticDescriptor Error(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true);
}
