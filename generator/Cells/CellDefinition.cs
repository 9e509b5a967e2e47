using System;
using System.Collections.Generic;
using Embedded.Rnn.Generator.Emit;
using Embedded.Rnn.Generator.Json;

namespace Embedded.Rnn.Generator.Cells;

/// <summary>
/// Everything that makes a recurrent cell what it is, in one place: its gates, whether it carries a cell state, the
/// accumulators its tiles keep, its pointwise maths (a runtime operator in <c>Embedded.Rnn.Kernels</c> that the generated
/// kernels call for inference, for training's forward pass and backward) and its nanoFramework form. The emitters reach a
/// cell only through this type; they never switch on the kind. A cell kind exists only as a definition listed in
/// <see cref="Cells.All"/>, so a cell cannot be half-defined (an abstract member left out does not compile).
/// </summary>
/// <remarks>
/// The generated kernels name their buffers for the cell's calls: <c>pre</c> (inference pre-activations, slot k at
/// k · <c>PaddedHidden</c>), <c>h</c> and <c>c</c> (the state the step starts from), <c>hNew</c> and <c>cNew</c> (training's new
/// state), <c>tape</c>, and backward's <c>dh</c>, <c>dc</c> and <c>dhPrev</c>. Definitions are records with value equality: they
/// are part of the incremental pipeline's model.
/// </remarks>
internal abstract record CellDefinition
{
    /// <summary>The value of the generated <c>CellKind</c> constant, e.g. "lstm" or "rnn (relu)".</summary>
    public abstract string Kind { get; }

    /// <summary>What distinguishes this cell's maths from every other cell's, for the fingerprint of a saved state: <see cref="Kind"/>, plus any parameter the kind leaves open.</summary>
    public virtual string Identity => Kind;

    /// <summary>The cell's name in prose, for comments and docs, e.g. "LSTM".</summary>
    public abstract string Title { get; }

    /// <summary>"a" or "an", as <see cref="Title"/> is said ("an LSTM", "a GRU").</summary>
    public abstract string Article { get; }

    /// <summary>Gate row blocks per PyTorch weight matrix.</summary>
    public abstract int Gates { get; }

    /// <summary>Gate row blocks in PyTorch order, for docs, e.g. "i, f, g, o".</summary>
    public abstract string GateOrder { get; }

    /// <summary>Whether the state has a cell part c besides h.</summary>
    public abstract bool HasCellState { get; }

    /// <summary>The accumulators a tile keeps per chunk of units, in packed order.</summary>
    public abstract IReadOnlyList<Slot> Slots { get; }

    /// <summary>The runtime operator class with the cell's pointwise maths and its <c>TapeValues</c>.</summary>
    public abstract string Operator { get; }

    /// <summary>Inference, after a layer's tiles: the call that turns <c>pre</c> into the new h (and c) for <paramref name="units"/> units.</summary>
    public abstract string Activate(VectorWidth width, int units);

    /// <summary>
    /// Inference inside a layer's only tile, for one chunk: the call on the chunk's accumulators (in slot order) that writes
    /// the new h (and c) in place. Not called for a cell with a <see cref="SecondPass"/>, whose step needs every unit's
    /// first-pass values before the second pass.
    /// </summary>
    public abstract string Step(VectorWidth width, IReadOnlyList<string> accumulators, string unit);

    /// <summary>Training's forward step for one chunk inside a tile: the call on the chunk's accumulators (in slot order).</summary>
    public abstract string Record(VectorWidth width, IReadOnlyList<string> accumulators, string unit);

    /// <summary>Backward for one chunk inside a tile: a statement that declares the gradient of each accumulator (named in slot order).</summary>
    public abstract string Backward(VectorWidth width, IReadOnlyList<string> gradients, string unit);

    /// <summary>The nanoFramework flavour: unit j's new h into <c>scratch[j]</c> (and, with a cell state, c[offset + j] in place).</summary>
    public abstract void EmitNanoUnit(SourceWriter writer, NanoDots dots);

    /// <summary>
    /// A second pass over the weights, for a cell whose recurrent product reads a vector computed from h in the first
    /// (the reset-before GRU's r ⊙ h); null for cells that take one pass. Its slots are those of <see cref="Slots"/> with
    /// <see cref="Slot.Pass"/> 1, after the first pass's.
    /// </summary>
    public virtual SecondPass? SecondPass => null;

    /// <summary>The nanoFramework flavour, before the loop over units: anything a unit needs of every other unit (written to the scratch's second half).</summary>
    public virtual void EmitNanoPrelude(SourceWriter writer, NanoDots dots)
    {
    }
}

/// <summary>
/// A cell's second pass over its weights: a recurrent-only matrix-vector product over a vector the cell computes from h
/// after the first pass. Its tiles read the vector where each variant keeps it and call the cell's maths per chunk.
/// </summary>
internal abstract class SecondPass
{
    /// <summary>The kernel and tile name of the pass, e.g. "Candidate" (CandidateTile_K1_Vector512).</summary>
    public abstract string Name { get; }

    /// <summary>The vector the pass reads, in generated code (a tile's parameter and its columns' locals), e.g. "rh".</summary>
    public abstract string Vector { get; }

    /// <summary>The vector in prose, for comments, e.g. "r ⊙ h".</summary>
    public abstract string Title { get; }

    /// <summary>Inference, between the passes: the call that computes the vector for <paramref name="units"/> units.</summary>
    public abstract string Prepare(VectorWidth width, int units);

    /// <summary>Where inference keeps the vector (a ref expression over the kernel's buffers).</summary>
    public abstract string InferenceVector { get; }

    /// <summary>Where training keeps the vector, and backward its gradient (ref expressions over the tape).</summary>
    public abstract string TapeVector { get; }

    /// <inheritdoc cref="TapeVector"/>
    public abstract string TapeGradient { get; }

    /// <summary>Training's forward step of the pass for one chunk (its accumulators in slot order).</summary>
    public abstract string Record(VectorWidth width, IReadOnlyList<string> accumulators, string unit);

    /// <summary>Backward starts with this statement (before the pass, which runs first backward).</summary>
    public abstract string BeginBackward { get; }

    /// <summary>Backward through the pass for one chunk: a statement declaring the gradient of each accumulator.</summary>
    public abstract string Backward(VectorWidth width, IReadOnlyList<string> gradients, string unit);
}

/// <summary>One accumulator per chunk of units: the gate row block of weight_ih it reads and of weight_hh (-1: none), its pass, and its name in generated code.</summary>
internal sealed class Slot
{
    public Slot(string name, int inputBlock, int recurrentBlock, int pass = 0)
    {
        Name = name;
        InputBlock = inputBlock;
        RecurrentBlock = recurrentBlock;
        Pass = pass;
    }

    public string Name { get; }

    public int InputBlock { get; }

    public int RecurrentBlock { get; }

    /// <summary>The pass over the weights that computes it: 0, or 1 for a <see cref="CellDefinition.SecondPass"/>'s.</summary>
    public int Pass { get; }
}

/// <summary>The dot products a nanoFramework cell step has in scope for unit j: expressions in C# that nanoFramework accepts.</summary>
internal abstract class NanoDots
{
    /// <summary>W_ih[gate] x + W_hh[gate] h + b_ih[gate] + b_hh[gate] for unit j.</summary>
    public abstract string Sum(int gate);

    /// <summary>W_ih[gate] x + b_ih[gate] for unit j.</summary>
    public abstract string Input(int gate);

    /// <summary>W_hh[gate] h + b_hh[gate] for unit j.</summary>
    public abstract string Recurrent(int gate);

    /// <summary>W_hh[gate] v + b_hh[gate] for unit j, with v the vector the cell's prelude left in the scratch's second half.</summary>
    public abstract string RecurrentOnPrelude(int gate);
}

/// <summary>A spec field that only some cells read, and the cells it applies to (for the "does not apply" diagnostic).</summary>
internal sealed class CellField
{
    public CellField(string name, string appliesTo)
    {
        Name = name;
        AppliesTo = appliesTo;
    }

    public string Name { get; }

    public string AppliesTo { get; }
}

/// <summary>What a cell's reader may ask of the spec: its own fields, with diagnostics reported at their positions.</summary>
internal interface ISpecFields
{
    /// <summary>The field's value, or null when the spec does not have it.</summary>
    JsonValue? Field(string name);

    /// <summary>The activation in <paramref name="choices"/> that <paramref name="value"/> names; null after reporting an unknown <paramref name="what"/> (ERNN004).</summary>
    string? Activation(JsonValue value, string what, params string[] choices);

    /// <summary>The JSON string in <paramref name="choices"/> that <paramref name="value"/> holds; null after reporting an invalid <paramref name="name"/> (ERNN006).</summary>
    string? OneOf(JsonValue value, string name, params string[] choices);

    /// <summary>A finite number &gt;= 0; null after reporting an invalid value.</summary>
    float? NonNegativeNumber(JsonValue value, string name);

    /// <summary>Reports that a field does not apply (to the spec's cell, or with its other fields).</summary>
    void NotApplicable(JsonValue value, string name, string appliesTo);
}

/// <summary>How the spec names a cell: its "cell" value, the fields only it reads, and how it reads them.</summary>
internal sealed class CellReader
{
    public CellReader(string name, CellField[] fields, Func<ISpecFields, CellDefinition?> read)
    {
        Name = name;
        Fields = fields;
        Read = read;
    }

    /// <summary>The spec's "cell" value.</summary>
    public string Name { get; }

    /// <summary>The cell-specific fields this cell reads.</summary>
    public CellField[] Fields { get; }

    /// <summary>Reads the cell's fields (defaults where absent); null after reporting a diagnostic.</summary>
    public Func<ISpecFields, CellDefinition?> Read { get; }
}
