using System.Diagnostics.CodeAnalysis;

namespace Embedded.Rnn;

/// <summary>Sizes of a generated model, for code that handles models generically.</summary>
/// <param name="Cell">"lstm", "gru", "gru (reset before)", or "rnn (tanh|relu|leaky_relu)".</param>
/// <param name="InputSize">Features per time step.</param>
/// <param name="HiddenSize">Hidden units per layer and direction.</param>
/// <param name="LayerCount">Stacked layers.</param>
/// <param name="DirectionCount">1, or 2 when bidirectional.</param>
/// <param name="OutputSize">Output values per time step.</param>
public readonly record struct RnnShape(string Cell, int InputSize, int HiddenSize, int LayerCount, int DirectionCount, int OutputSize);

/// <summary>The state of one sequence of a generated model (implemented by its nested <c>State</c> struct).</summary>
public interface IRnnState
{
    /// <summary>The hidden state h of a layer and direction (HiddenSize values), readable and writable.</summary>
    /// <param name="layer">The layer, from 0.</param>
    /// <param name="direction">0, or 1 for the reverse direction.</param>
    /// <exception cref="ArgumentOutOfRangeException">layer or direction is out of range.</exception>
    [UnscopedRef]
    Span<float> Hidden(int layer, int direction = 0);

    /// <summary>The cell state c of a layer and direction (HiddenSize values; LSTM models), readable and writable.</summary>
    /// <param name="layer">The layer, from 0.</param>
    /// <param name="direction">0, or 1 for the reverse direction.</param>
    /// <exception cref="NotSupportedException">The model's cell has no cell state (rnn, gru).</exception>
    /// <exception cref="ArgumentOutOfRangeException">layer or direction is out of range.</exception>
    [UnscopedRef]
    Span<float> Cell(int layer, int direction = 0);

    /// <summary>Sets every value to zero.</summary>
    void Reset();

    /// <summary>
    /// Whether every value of h (and c) is finite. One NaN or infinite input makes the state NaN from then on, and every
    /// later output with it: check after a step whose input may be bad, and <see cref="Reset"/> the state or put back a
    /// copy of an earlier one (the state is a value type, so a copy is a snapshot) when this is false.
    /// </summary>
    bool IsFinite();

    /// <summary>
    /// Writes the state to <paramref name="destination"/> (the struct's <c>SavedLength</c> bytes: the model's fingerprint
    /// and sizes, h and c, a checksum), to carry it across a restart; allocates nothing.
    /// </summary>
    /// <param name="destination">At least <c>SavedLength</c> bytes.</param>
    /// <returns>The bytes written, <c>SavedLength</c>.</returns>
    /// <exception cref="ArgumentException">destination is shorter than <c>SavedLength</c>.</exception>
    int WriteTo(Span<byte> destination);

    /// <summary>
    /// Replaces the state with one <see cref="WriteTo"/> saved. Bytes saved by another model or spec, truncated or
    /// damaged ones are refused and the state is left as it was.
    /// </summary>
    /// <param name="source">Exactly the bytes <see cref="WriteTo"/> wrote.</param>
    /// <exception cref="System.IO.InvalidDataException">The bytes are not a state of this model, or are damaged.</exception>
    void ReadFrom(ReadOnlySpan<byte> source);
}

/// <summary>
/// What every generated model is: its sizes and the kernel path the instance runs. The one place these live,
/// so generic code constrained to both <see cref="IRnnModel{TState}"/> and <see cref="ITrainableRnnModel"/>
/// sees one <c>Shape</c> and one <c>Path</c>.
/// </summary>
public interface IGeneratedRnnModel
{
    /// <summary>The model's sizes.</summary>
    RnnShape Shape { get; }

    /// <summary>The instruction-set path this instance runs.</summary>
    KernelPath Path { get; }
}

/// <summary>
/// What every generated model offers, for generic code (tools, tests, trainers). Calling a model through
/// this interface costs an interface call; call the generated class directly on hot paths.
/// </summary>
/// <typeparam name="TState">The model's nested <c>State</c> type.</typeparam>
public interface IRnnModel<TState> : IGeneratedRnnModel
    where TState : struct, IRnnState
{
    /// <summary>
    /// Runs a sequence (T × InputSize in, T × OutputSize out) from <paramref name="state"/>, leaving the final state in it.
    /// ys must not overlap xs, except in place (ys starting where xs starts) where the model's docs allow it.
    /// </summary>
    /// <exception cref="ArgumentException">xs is not whole steps, ys does not match it, or ys overlaps xs other than as allowed.</exception>
    void Run(ReadOnlySpan<float> xs, ref TState state, Span<float> ys);
}

/// <summary>A unidirectional model, which can also advance one step at a time.</summary>
/// <typeparam name="TState">The model's nested <c>State</c> type.</typeparam>
public interface IStreamingRnnModel<TState> : IRnnModel<TState>
    where TState : struct, IRnnState
{
    /// <summary>Advances <paramref name="state"/> by one step and writes that step's output (y may overlap x in any way).</summary>
    /// <exception cref="ArgumentException">A span has the wrong length.</exception>
    void Step(ReadOnlySpan<float> x, ref TState state, Span<float> y);

    /// <summary>
    /// Advances every state in <paramref name="states"/> by one step (stream s reads <c>xs[s × InputSize ..]</c> and writes
    /// <c>ys[s × OutputSize ..]</c>), reading the weights once per group of streams. ys must not overlap xs, except in place
    /// (ys starting where xs starts) when OutputSize = InputSize.
    /// </summary>
    /// <exception cref="ArgumentException">xs or ys does not hold states.Length streams, or ys overlaps xs other than as allowed.</exception>
    void Step(ReadOnlySpan<float> xs, Span<TState> states, Span<float> ys);

    /// <summary>
    /// Runs one sequence of T steps per state in <paramref name="states"/> (sequence s reads <c>xs[s × T × InputSize ..]</c> and
    /// writes <c>ys[s × T × OutputSize ..]</c>), each step advancing the sequences together as the multi-stream
    /// <see cref="Step(ReadOnlySpan{float}, Span{TState}, Span{float})"/> does. ys must not overlap xs, except in place (ys
    /// starting where xs starts) when OutputSize = InputSize.
    /// </summary>
    /// <exception cref="ArgumentException">xs is not whole sequences of whole steps, ys does not match it, or ys overlaps xs other than as allowed.</exception>
    void Run(ReadOnlySpan<float> xs, Span<TState> states, Span<float> ys);
}
