using System.Collections.Generic;
using Embedded.Rnn.Generator.Cells;
using Embedded.Rnn.Generator.Layout;

namespace Embedded.Rnn.Generator.Model;

/// <summary>Which runtime the emitted code is for.</summary>
internal enum TargetRuntime
{
    /// <summary>.NET 10 with the Embedded.Rnn runtime: SIMD kernels on every path.</summary>
    Dotnet,
    /// <summary>.NET nanoFramework 1.x microcontrollers: self-contained scalar code on float[] (RnnGenerator.NanoEmitter).</summary>
    NanoFramework,
}

internal enum HeadActivation
{
    None,
    Sigmoid,
    Tanh,
    Softmax,
}

/// <summary>The optional dense layer on top of the recurrent stack.</summary>
internal sealed record HeadSpec(int Output, HeadActivation Activation);

/// <summary>A validated model: everything the emitter needs, and nothing that defeats caching.</summary>
/// <param name="SpecPath">The spec's path as the attribute gives it, for the generated file's header.</param>
/// <param name="Storage">How the packed weights are stored (part of the packed layout and of the tiles' load step).</param>
/// <param name="TrainingKernels">Whether to emit the forward-with-tape and backward kernels the trainer runs (the
/// EmbeddedRnnTraining MSBuild property); inference-only models leave them out.</param>
internal sealed record ModelSpec(
    string? Namespace,
    string ClassName,
    string SpecPath,
    CellDefinition Cell,
    int Input,
    int Hidden,
    int Layers,
    bool Bidirectional,
    bool Bias,
    HeadSpec? Head,
    EquatableArray<BakedTensor> BakedWeights,
    TargetRuntime Target = TargetRuntime.Dotnet,
    WeightStorage Storage = WeightStorage.Float32,
    bool TrainingKernels = false)
{
    public int Directions => Bidirectional ? 2 : 1;

    public int LayerOutput => Directions * Hidden;

    public int Output => Head?.Output ?? LayerOutput;

    public bool HasBakedWeights => BakedWeights.Count > 0;

    /// <summary>
    /// Whether Run over one sequence may write ys in place over xs (ys starting exactly where xs starts; any other overlap
    /// is refused): with OutputSize ≤ InputSize, step t's output lands only on the inputs of steps up to t, which Run has
    /// read already. Never for a single bidirectional layer without a head: its forward pass writes ys, then its backward
    /// pass reads xs again.
    /// </summary>
    public bool RunsInPlace => Output <= Input && !RunReadsInputsTwice;

    /// <summary>Whether Run reads xs again after writing ys: a single bidirectional layer without a head.</summary>
    public bool RunReadsInputsTwice => Bidirectional && Layers == 1 && Head is null;

    /// <summary>
    /// Whether the multi-stream Step and Run may write ys in place over xs: only with OutputSize = InputSize, where each
    /// stream's output lands exactly on its own input, which it has read already in whatever order the streams run.
    /// </summary>
    public bool StreamsRunInPlace => Output == Input;

    /// <summary>The file the generated source goes to (<see cref="HintNames.For"/>).</summary>
    public string HintName => HintNames.For(Namespace, ClassName);

    /// <summary>The parameter tensors in PyTorch state_dict order (the shared <see cref="ParameterLayout"/>).</summary>
    public ParameterLayout ParameterLayout => new(Input, Hidden, Cell.Gates, Layers, Directions, Bias, Head?.Output ?? 0);

    /// <summary>The parameter tensors in PyTorch state_dict order: (name, shape).</summary>
    public IEnumerable<(string Name, int[] Shape)> Parameters()
    {
        var layout = ParameterLayout;
        for (int i = 0; i < layout.Count; i++)
        {
            yield return (layout.Name(i), layout.Shape(i));
        }
    }
}

/// <summary>A parameter tensor baked into the binary from the spec's weights file.</summary>
internal sealed record BakedTensor(string Name, EquatableArray<float> Values);

/// <summary>A class carrying [RnnModel], as found in syntax.</summary>
/// <param name="Members">The members the user's own parts declare (the generator's are not in the compilation it sees), by
/// name: the stand-ins leave these names out, and none may take a name the generated model defines (ERNN017).</param>
/// <param name="ReferencesRuntime">Whether the compilation references the Embedded.Rnn runtime (a nanoFramework project
/// does not): which stand-in surface a class gets when its spec cannot be read.</param>
internal sealed record ModelTarget(
    string? Namespace,
    string ClassName,
    string SourceFilePath,
    string? SpecPath,
    bool IsPartial,
    bool IsSupportedShape,
    bool IsRecord,
    int AttributeCount,
    LocationInfo? AttributeLocation,
    LocationInfo? ClassNameLocation,
    EquatableArray<UserMember> Members,
    bool ReferencesRuntime,
    bool KernelsNameTaken);

/// <summary>A member declared in the user's part of a model class: its name and where its identifier is.</summary>
internal sealed record UserMember(string Name, LocationInfo? Location);

/// <summary>
/// The MSBuild facts the generator reads (build_property.*): whether the Embedded.Rnn build rules make every *.rnn.json in
/// the project an AdditionalFiles item, and the project's directory. Only ERNN001's wording depends on them.
/// </summary>
internal sealed record BuildOptions(bool DefaultSpecItems, string? ProjectDirectory);

/// <summary>
/// A model class that gets the error-time stand-in surface (StubEmitter): its spec has errors or a member of the class
/// takes a generated name. <paramref name="ErrorId"/> is the first error, named in the stand-ins' exception message;
/// <paramref name="Taken"/> the names the user's part declares, which the stand-ins leave out.
/// </summary>
internal sealed record StubSpec(
    string? Namespace,
    string ClassName,
    string SpecPath,
    string ErrorId,
    TargetRuntime Target,
    EquatableArray<string> Taken,
    bool TrainingKernels = false)
{
    public string HintName => HintNames.For(Namespace, ClassName);
}

/// <summary>The name of a model's generated file.</summary>
internal static class HintNames
{
    /// <summary>
    /// Namespace and class, so two models never clash (but for names that differ only in case, which Roslyn compares
    /// without: RnnGenerator reports those), without the '@' of an escaped keyword (namespace @event), which a hint name
    /// may not hold.
    /// </summary>
    public static string For(string? ns, string className) => FullName(ns, className).Replace("@", string.Empty) + ".Rnn.g.cs";

    /// <summary>The class's name with its namespace, as the user wrote them.</summary>
    public static string FullName(string? ns, string className) => (ns is null ? string.Empty : ns + ".") + className;
}

/// <summary>An additional file that may hold a spec.</summary>
internal sealed record SpecFile(string Path, string? Text);

/// <summary>What the parser made of one target: a spec to emit (or null), diagnostics to report, and the stand-in surface
/// to emit instead of the model when there are errors (null when the class cannot take members).</summary>
internal sealed record ModelResult(ModelSpec? Spec, EquatableArray<DiagnosticInfo> Diagnostics, StubSpec? Stub = null);
