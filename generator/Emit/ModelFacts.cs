using System;
using System.Collections.Generic;
using System.Linq;
using Embedded.Rnn.Generator.Cells;
using Embedded.Rnn.Generator.Layout;
using Embedded.Rnn.Generator.Model;

namespace Embedded.Rnn.Generator.Emit;

/// <summary>What a kernel computes: one step of a recurrent layer, a cell's second pass over the layer's weights, or the dense head.</summary>
internal enum KernelKind
{
    Layer,
    SecondPass,
    Head,
}

/// <summary>How a kernel runs: inference, training's forward pass (which keeps a tape), or backward.</summary>
internal enum KernelVariant
{
    Inference,
    /// <summary>Inference from the input projection a time-batched <c>Run</c> computed beforehand: recurrent columns only.</summary>
    Projected,
    Record,
    Backward,
}

/// <summary>
/// A matrix-vector kernel over packed tiles: a recurrent layer with a given input width (its first pass), a cell's second
/// pass (recurrent columns only, over the vector the cell computes), or the dense head.
/// </summary>
internal sealed class KernelShape
{
    public KernelShape(KernelKind kind, int input, int recurrent, int units, IReadOnlyList<Slot> slots, WeightStorage storage, SecondPass? pass = null, int firstSlot = 0)
    {
        Storage = storage;
        Kind = kind;
        Input = input;
        Recurrent = recurrent;
        Units = units;
        Slots = slots;
        Pass = pass;
        FirstSlot = firstSlot;
        InputSlots = Enumerable.Range(0, slots.Count).Where(s => slots[s].InputBlock >= 0).ToArray();
        RecurrentSlots = Enumerable.Range(0, slots.Count).Where(s => slots[s].RecurrentBlock >= 0).ToArray();
    }

    public KernelKind Kind { get; }

    /// <summary>How the kernel's weights are stored (the model's precision).</summary>
    public WeightStorage Storage { get; }

    public int Input { get; }

    public int Recurrent { get; }

    public int Units { get; }

    public IReadOnlyList<Slot> Slots { get; }

    /// <summary>Indices of the slots that read the input.</summary>
    public int[] InputSlots { get; }

    /// <summary>Indices of the slots that read the recurrent state.</summary>
    public int[] RecurrentSlots { get; }

    /// <summary>The second pass this kernel computes (<see cref="KernelKind.SecondPass"/>), else null.</summary>
    public SecondPass? Pass { get; }

    /// <summary>The cell's index of the first slot: inference stores slot s's pre-activations at block FirstSlot + s of pre.</summary>
    public int FirstSlot { get; }

    /// <summary>What the recurrent columns read: h, or the second pass's vector.</summary>
    public string RecurrentSource => Pass?.Vector ?? "h";

    /// <summary>Where backward adds the recurrent columns' input gradient: dhPrev, or the gradient of the second pass's vector.</summary>
    public string RecurrentGradient => Pass is null ? "dhPrev" : "d" + Pass.Vector;

    /// <summary>The shared packed layout of this kernel's weights on <paramref name="width"/>.</summary>
    public BlockLayout Block(VectorWidth width) =>
        new(Input, Recurrent, Units, Slots.Count, InputSlots.Length, RecurrentSlots.Length, width.Lanes, Storage);

    /// <summary>e.g. Layer_In8_Vector512, RecordLayer_In8_Vector512, BackHead_Scalar.</summary>
    public string Name(VectorWidth width, KernelVariant variant) => Kind switch
    {
        KernelKind.Head => $"{Prefix(variant)}Head_{width.Name}",
        KernelKind.SecondPass => $"{Prefix(variant)}{Pass!.Name}_{width.Name}",
        _ => $"{Prefix(variant)}Layer_In{Literals.Int(Input)}_{width.Name}",
    };

    /// <summary>e.g. LayerTile_In8_K2_Vector512, CandidateTile_K1_Vector512: a tile of <paramref name="chunks"/> vectors of units.</summary>
    public string TileName(VectorWidth width, int chunks, KernelVariant variant) => Kind switch
    {
        KernelKind.Head => $"{Prefix(variant)}HeadTile_K{Literals.Int(chunks)}_{width.Name}",
        KernelKind.SecondPass => $"{Prefix(variant)}{Pass!.Name}Tile_K{Literals.Int(chunks)}_{width.Name}",
        _ => $"{Prefix(variant)}LayerTile_In{Literals.Int(Input)}_K{Literals.Int(chunks)}_{width.Name}",
    };

    /// <summary>e.g. LayerStreams_In8_Vector512, RecordLayerStreams_In8_Vector512, BackLayerStreams_In8_Vector512: a layer's step for several streams at once (layers only).</summary>
    public string StreamsName(VectorWidth width, KernelVariant variant = KernelVariant.Inference) => $"{Prefix(variant)}LayerStreams_In{Literals.Int(Input)}_{width.Name}";

    /// <summary>e.g. LayerStreamsTile_In8_K2_Vector512: some chunks of a tile of <paramref name="chunks"/> chunks for several streams.</summary>
    public string StreamsTileName(VectorWidth width, int chunks, KernelVariant variant = KernelVariant.Inference) =>
        $"{Prefix(variant)}LayerStreamsTile_In{Literals.Int(Input)}_K{Literals.Int(chunks)}_{width.Name}";

    /// <summary>e.g. BackLayerGates_In8_K2_Vector512: one stream's pointwise backward step over a tile, for the streams backward kernel.</summary>
    public string GatesName(VectorWidth width, int chunks) => $"BackLayerGates_In{Literals.Int(Input)}_K{Literals.Int(chunks)}_{width.Name}";

    /// <summary>e.g. LayerProject_In8_Vector512: the input projections of several steps at once (layers only).</summary>
    public string ProjectName(VectorWidth width) => $"LayerProject_In{Literals.Int(Input)}_{width.Name}";

    /// <summary>e.g. LayerProjectTile_In8_K2_Vector512: some chunks of a tile's input projections for several steps.</summary>
    public string ProjectTileName(VectorWidth width, int chunks) => $"LayerProjectTile_In{Literals.Int(Input)}_K{Literals.Int(chunks)}_{width.Name}";

    /// <summary>e.g. LayerFinish_In8_Vector512, RecordLayerFinish_In8_Vector512: one stream's rest of the step after the streams tiles.</summary>
    public string FinishName(VectorWidth width, KernelVariant variant = KernelVariant.Inference) => $"{Prefix(variant)}LayerFinish_In{Literals.Int(Input)}_{width.Name}";

    private static string Prefix(KernelVariant variant) => variant switch
    {
        KernelVariant.Projected => "Projected",
        KernelVariant.Record => "Record",
        KernelVariant.Backward => "Back",
        _ => string.Empty,
    };
}

/// <summary>The facts about a model every emitter piece shares: names, sizes, state layout and kernel shapes.</summary>
internal sealed class ModelFacts
{
    public ModelFacts(ModelSpec spec)
    {
        Spec = spec;
        Cell = spec.Cell;
        PaddedHidden = KernelLayout.Padded(spec.Hidden);
        StateSlots = spec.Layers * spec.Directions;
        LayerShapes = Enumerable.Range(0, Math.Min(2, spec.Layers))
            .Select(layer => KernelLayout.LayerInput(layer, spec.Input, spec.Hidden, spec.Directions))
            .Distinct()
            .Select(input => new KernelShape(KernelKind.Layer, input, spec.Hidden, spec.Hidden, spec.Cell.Slots.Where(s => s.Pass == 0).ToArray(), spec.Storage))
            .ToArray();
        if (spec.Cell.SecondPass is { } pass)
        {
            // Inference keeps slot k's pre-activations in block k of pre: the second pass's slots come after the first's.
            int first = spec.Cell.Slots.TakeWhile(s => s.Pass == 0).Count();
            var slots = spec.Cell.Slots.Skip(first).ToArray();
            if (slots.Length == 0 || slots.Any(s => s.Pass != 1))
            {
                throw new InvalidOperationException($"{spec.Cell.Title}: a cell's slots list its first pass's, then its second pass's");
            }

            SecondPassShape = new KernelShape(KernelKind.SecondPass, 0, spec.Hidden, spec.Hidden, slots, spec.Storage, pass, first);
        }

        HeadShape = spec.Head is null ? null : new KernelShape(KernelKind.Head, spec.LayerOutput, 0, spec.Head.Output, HeadSlots, spec.Storage);
    }

    /// <summary>The head's one accumulator: a row of weight_ih (head.weight), no recurrent part.</summary>
    public static readonly Slot[] HeadSlots = { new("y", KernelLayout.HeadInputBlock, KernelLayout.HeadRecurrentBlock) };

    public ModelSpec Spec { get; }

    public CellDefinition Cell { get; }

    /// <summary>The user's class.</summary>
    public string ClassName => Spec.ClassName;

    /// <summary>The generated static class holding the kernels (file-local, so models never clash).</summary>
    public string KernelsName => RnnGenerator.Parser.KernelsName(Spec.ClassName);

    /// <summary>The user's class, fully qualified.</summary>
    public string QualifiedName => "global::" + HintNames.FullName(Spec.Namespace, Spec.ClassName);

    /// <summary>Floats one layer and direction takes in the state (HiddenSize padded to whole vectors of the widest path).</summary>
    public int PaddedHidden { get; }

    /// <summary>Layer-and-direction slots in the state.</summary>
    public int StateSlots { get; }

    /// <summary>Where c starts in the state (after every h).</summary>
    public int CellOffset => StateSlots * PaddedHidden;

    /// <summary>Where the scratch starts (after every h and c).</summary>
    public int ScratchOffset => StateSlots * PaddedHidden * (Cell.HasCellState ? 2 : 1);

    /// <summary>The scratch: the pre-activations of every slot of one layer step, or the head's.</summary>
    public int ScratchLength => Math.Max(PaddedHidden * Cell.Slots.Count, Spec.Head is null ? 0 : KernelLayout.Padded(Spec.Head.Output));

    /// <summary>Floats of the state struct.</summary>
    public int StateLength => ScratchOffset + ScratchLength;

    /// <summary>
    /// Sequence buffers a bidirectional Run needs: layers read the whole output of the layer below (and the head the top
    /// layer's), so up to two alternate; a single layer without a head writes straight into ys and needs none.
    /// </summary>
    public int RunBuffers => Spec.Bidirectional ? Math.Min(2, Spec.Layers - 1 + (Spec.Head is null ? 0 : 1)) : 0;

    /// <summary>
    /// Whether the unidirectional Run projects the first layer's inputs a group of steps at a time (bias + W_ih·x of the
    /// group's steps, each input weight vector loaded once per group) and then steps from the projections, on the path of
    /// <see cref="ProjectionWidth"/>. Only with at least <see cref="MinProjectedInputs"/> input columns and
    /// <see cref="MinProjectedHidden"/> hidden units: smaller steps are one dependent chain whose input columns the core
    /// already overlaps, so there is nothing to gain (LSTM (8, 32) ran 7 % slower projected; bench/RESULTS.md), and their
    /// files stay smaller. And only while the projections of a group fit <see cref="MaxProjectionBytes"/> on the stack.
    /// </summary>
    public bool ProjectsInputs => !Spec.Bidirectional && Spec.Input >= MinProjectedInputs && Spec.Hidden >= MinProjectedHidden
        && ProjectionSteps * ProjectionLength * sizeof(float) <= MaxProjectionBytes;

    public const int MinProjectedInputs = 8;

    public const int MinProjectedHidden = 64;

    public const int MaxProjectionBytes = 32 * 1024;

    /// <summary>
    /// The one path with a time-batched Run: Vector512, whose 32 registers keep 4 steps' accumulators of a chunk. With the 2
    /// steps a group holds on the 16-register widths, the projected Run measured slower than stepping at (16, 64) (LSTM
    /// 1.22×, GRU 1.09× on Vector256) and 6-7 % faster at (32, 128), so those paths step as before (bench/RESULTS.md).
    /// </summary>
    public static VectorWidth ProjectionWidth => VectorWidth.All[0];

    /// <summary>
    /// The path whose training forward step takes a group of streams through the streams tiles (each weight vector loaded
    /// once for the group's 4 streams). On the 16-register widths a group is 2 streams, and the trainer measured no faster
    /// with them (1.0-1.2× its time at (8, 32) and (16, 64) on a Zen 3), so those paths record one stream at a time
    /// (bench/RESULTS.md).
    /// </summary>
    public static VectorWidth GroupedRecordWidth => VectorWidth.All[0];

    /// <summary>
    /// Whether training's forward step groups streams on <see cref="GroupedRecordWidth"/>: for a model with training
    /// kernels and no second pass (whose cell runs stream by stream), and only while a group's states, which it copies
    /// onto the stack, fit <see cref="MaxGroupedRecordBytes"/> (an LSTM of 1 layer and 512 hidden units needs 48 KB;
    /// larger or deeper models record one stream at a time).
    /// </summary>
    public bool GroupsRecord => Spec.TrainingKernels && SecondPassShape is null
        && TileEmitter.Streams(GroupedRecordWidth) * StateLength * sizeof(float) <= MaxGroupedRecordBytes;

    public const int MaxGroupedRecordBytes = 64 * 1024;

    /// <summary>Floats of one step's input projection: every first-pass slot's block of PaddedHidden, as in the scratch.</summary>
    public int ProjectionLength => PaddedHidden * LayerShapes[0].Slots.Count;

    /// <summary>Steps a projection group holds: the streams a streams tile keeps in registers on <see cref="ProjectionWidth"/>.</summary>
    public static int ProjectionSteps => TileEmitter.Streams(ProjectionWidth);

    /// <summary>Bytes of a saved state (the shared layout's rule).</summary>
    public int SavedStateLength => KernelLayout.SavedStateLength(StateSlots, Spec.Hidden, Cell.HasCellState);

    /// <summary>
    /// The fingerprint a saved state carries: FNV-1a (64-bit) of the spec's meaning (cell, sizes, bias, head), so a state
    /// saved by another spec is refused even when its sizes match. Not the class name (one spec in two classes is one
    /// model) and not the weights (a retrained model keeps its states' meaning).
    /// </summary>
    public ulong Fingerprint
    {
        get
        {
            var s = Spec;
            string text = $"{Cell.Identity}|input {Literals.Int(s.Input)}|hidden {Literals.Int(s.Hidden)}|layers {Literals.Int(s.Layers)}|directions {Literals.Int(s.Directions)}|bias {s.Bias}" +
                (s.Head is null ? "|no head" : $"|head {Literals.Int(s.Head.Output)} {s.Head.Activation}");
            ulong hash = 14695981039346656037;
            foreach (char c in text)
            {
                hash = (hash ^ c) * 1099511628211;
            }

            return hash;
        }
    }

    /// <summary>Block index of the head among the packed blocks.</summary>
    public int HeadBlock => StateSlots;

    /// <summary>Layer kernels by input width: the first layer's, then (for deeper stacks of another width) the rest's.</summary>
    public KernelShape[] LayerShapes { get; }

    public KernelShape? HeadShape { get; }

    /// <summary>The cell's second pass over a layer's weights (the same for every layer: it reads no input), or null.</summary>
    public KernelShape? SecondPassShape { get; }

    /// <summary>The model in words for comments and docs, e.g. "an LSTM (1 input, 8 hidden units, 1 layer)".</summary>
    public string Description
    {
        get
        {
            var s = Spec;
            string noun = s.Bidirectional ? "a bidirectional " + Cell.Title : Cell.Article + " " + Cell.Title;
            string text = $"{noun} ({Plural(s.Input, "input")}, {Plural(s.Hidden, "hidden unit")}, {Plural(s.Layers, "layer")}";
            if (!s.Bias)
            {
                text += ", no bias";
            }

            return s.Head is null ? text + ")" : text + $") with a dense head of {Plural(s.Head.Output, "output")}" +
                (s.Head.Activation == HeadActivation.None ? string.Empty : " (" + s.Head.Activation.ToString().ToLowerInvariant() + ")");
        }
    }

    public static string Plural(int count, string noun) => Literals.Int(count) + " " + noun + (count == 1 ? string.Empty : "s");
}
