using Embedded.Rnn.Tests.Models;

namespace Embedded.Rnn.Tests.Support;

/// <summary>Runs any generated model through its generic interface, with states given per slot.</summary>
public static class ModelHarness
{
    public sealed record Outcome(float[] Output, float[][] HN, float[][]? CN);

    public static Outcome Run<TState>(IRnnModel<TState> model, float[] xs, float[][] h0, float[][]? c0)
        where TState : struct, IRnnState
    {
        var state = Initial<TState>(model.Shape, h0, c0);
        var ys = new float[xs.Length / model.Shape.InputSize * model.Shape.OutputSize];
        model.Run(xs, ref state, ys);
        return Final(model.Shape, ref state, ys, c0 is not null);
    }

    public static Outcome Stream<TState>(IStreamingRnnModel<TState> model, float[] xs, float[][] h0, float[][]? c0)
        where TState : struct, IRnnState
    {
        var shape = model.Shape;
        var state = Initial<TState>(shape, h0, c0);
        int steps = xs.Length / shape.InputSize;
        var ys = new float[steps * shape.OutputSize];
        for (int t = 0; t < steps; t++)
        {
            model.Step(xs.AsSpan(t * shape.InputSize, shape.InputSize), ref state, ys.AsSpan(t * shape.OutputSize, shape.OutputSize));
        }

        return Final(shape, ref state, ys, c0 is not null);
    }

    /// <summary>
    /// Streams every sequence at once through the multi-stream <c>Step</c> (one call per time step advances all of them), or
    /// with <paramref name="wholeSequences"/> through the multi-stream <c>Run</c> (one call for all of them). Sequences have
    /// equal lengths; stream s starts from h0[s] and c0[s].
    /// </summary>
    public static Outcome[] StreamMany<TState>(IStreamingRnnModel<TState> model, float[][] sequences, float[][][] h0, float[][][]? c0, bool wholeSequences = false)
        where TState : struct, IRnnState
    {
        var shape = model.Shape;
        int streams = sequences.Length, steps = sequences[0].Length / shape.InputSize;
        var states = new TState[streams];
        for (int s = 0; s < streams; s++)
        {
            states[s] = Initial<TState>(shape, h0[s], c0?[s]);
        }

        if (wholeSequences)
        {
            var all = new float[streams * steps * shape.OutputSize];
            model.Run(sequences.SelectMany(sequence => sequence).ToArray(), states, all);
            return Enumerable.Range(0, streams).Select(s => Final(shape, ref states[s], all.AsSpan(s * steps * shape.OutputSize, steps * shape.OutputSize).ToArray(), c0 is not null)).ToArray();
        }

        var xs = new float[streams * shape.InputSize];
        var ys = new float[streams * shape.OutputSize];
        var outputs = Enumerable.Range(0, streams).Select(_ => new float[steps * shape.OutputSize]).ToArray();
        for (int t = 0; t < steps; t++)
        {
            for (int s = 0; s < streams; s++)
            {
                sequences[s].AsSpan(t * shape.InputSize, shape.InputSize).CopyTo(xs.AsSpan(s * shape.InputSize));
            }

            model.Step(xs, states, ys);
            for (int s = 0; s < streams; s++)
            {
                ys.AsSpan(s * shape.OutputSize, shape.OutputSize).CopyTo(outputs[s].AsSpan(t * shape.OutputSize));
            }
        }

        return Enumerable.Range(0, streams).Select(s => Final(shape, ref states[s], outputs[s], c0 is not null)).ToArray();
    }

    /// <summary>
    /// A reference case's batch elements through the multi-stream Step (or with <paramref name="wholeSequences"/> the
    /// multi-stream Run) as 4 × batch + 1 streams (stream s runs element s mod batch): whole groups of streams and a
    /// remainder on every path. Returns each stream's element and outcome.
    /// </summary>
    public static (int Element, Outcome Outcome)[] StreamEveryElement<TState>(IStreamingRnnModel<TState> model, ReferenceCase c, bool wholeSequences = false)
        where TState : struct, IRnnState
    {
        var slots = Enumerable.Range(0, c.Layers * c.Directions).ToArray();
        var elements = Enumerable.Range(0, 4 * c.Batch + 1).Select(s => s % c.Batch).ToArray();
        var outcomes = StreamMany(model,
            elements.Select(b => c.Sequence(b)).ToArray(),
            elements.Select(b => slots.Select(slot => c.StateSlice(c.H0, slot, b)).ToArray()).ToArray(),
            c.C0 is null ? null : elements.Select(b => slots.Select(slot => c.StateSlice(c.C0, slot, b)).ToArray()).ToArray(),
            wholeSequences);
        return elements.Zip(outcomes).ToArray();
    }

    private static TState Initial<TState>(RnnShape shape, float[][] h0, float[][]? c0)
        where TState : struct, IRnnState
    {
        var state = default(TState);
        for (int slot = 0; slot < shape.LayerCount * shape.DirectionCount; slot++)
        {
            h0[slot].CopyTo(state.Hidden(slot / shape.DirectionCount, slot % shape.DirectionCount));
            c0?[slot].CopyTo(state.Cell(slot / shape.DirectionCount, slot % shape.DirectionCount));
        }

        return state;
    }

    private static Outcome Final<TState>(RnnShape shape, ref TState state, float[] ys, bool hasCell)
        where TState : struct, IRnnState
    {
        int slots = shape.LayerCount * shape.DirectionCount;
        var hn = new float[slots][];
        var cn = hasCell ? new float[slots][] : null;
        for (int slot = 0; slot < slots; slot++)
        {
            hn[slot] = state.Hidden(slot / shape.DirectionCount, slot % shape.DirectionCount).ToArray();
            if (cn is not null)
            {
                cn[slot] = state.Cell(slot / shape.DirectionCount, slot % shape.DirectionCount).ToArray();
            }
        }

        return new Outcome(ys, hn, cn);
    }
}

/// <summary>Generic code to run on a model whose type the caller does not know.</summary>
public interface IModelVisitor<out TResult>
{
    TResult Visit<TState>(IRnnModel<TState> model)
        where TState : struct, IRnnState;
}

/// <summary>Maps a reference case to the generated model class for its spec (tests/Models).</summary>
public static class ReferenceModels
{
    public static TResult Accept<TResult>(string stem, ReadOnlyMemory<byte> weights, KernelPath? path, IModelVisitor<TResult> visitor) => stem switch
    {
        "gru_before_i5_h12_t7_b3" => visitor.Visit(GruBeforeI5H12T7B3.FromSafetensors(weights, path)),
        "gru_before_i6_h16_t9_b2_bidir" => visitor.Visit(GruBeforeI6H16T9B2Bidir.FromSafetensors(weights, path)),
        "gru_before_i4_h20_t6_b2_l2_nobias" => visitor.Visit(GruBeforeI4H20T6B2L2Nobias.FromSafetensors(weights, path)),
        "gru_i1_h8_t5_b1" => visitor.Visit(GruI1H8T5B1.FromSafetensors(weights, path)),
        "gru_i5_h12_t7_b3" => visitor.Visit(GruI5H12T7B3.FromSafetensors(weights, path)),
        "gru_i6_h16_t9_b2_bidir" => visitor.Visit(GruI6H16T9B2Bidir.FromSafetensors(weights, path)),
        "gru_i8_h32_t20_b2" => visitor.Visit(GruI8H32T20B2.FromSafetensors(weights, path)),
        "lstm_i1_h8_t5_b1" => visitor.Visit(LstmI1H8T5B1.FromSafetensors(weights, path)),
        "lstm_i4_h16_t200_b1" => visitor.Visit(LstmI4H16T200B1.FromSafetensors(weights, path)),
        "lstm_i5_h12_t6_b2_nobias" => visitor.Visit(LstmI5H12T6B2Nobias.FromSafetensors(weights, path)),
        "lstm_i6_h16_t9_b2_bidir" => visitor.Visit(LstmI6H16T9B2Bidir.FromSafetensors(weights, path)),
        "lstm_i8_h16_t10_b2_l2" => visitor.Visit(LstmI8H16T10B2L2.FromSafetensors(weights, path)),
        "lstm_i8_h32_t20_b2" => visitor.Visit(LstmI8H32T20B2.FromSafetensors(weights, path)),
        "rnn_relu_i1_h8_t5_b1" => visitor.Visit(RnnReluI1H8T5B1.FromSafetensors(weights, path)),
        "rnn_relu_i8_h32_t20_b2" => visitor.Visit(RnnReluI8H32T20B2.FromSafetensors(weights, path)),
        "rnn_tanh_i1_h8_t5_b1" => visitor.Visit(RnnTanhI1H8T5B1.FromSafetensors(weights, path)),
        "rnn_tanh_i4_h16_t200_b1" => visitor.Visit(RnnTanhI4H16T200B1.FromSafetensors(weights, path)),
        "rnn_tanh_i8_h32_t20_b2" => visitor.Visit(RnnTanhI8H32T20B2.FromSafetensors(weights, path)),
        _ => throw new ArgumentException($"no generated model for reference case '{stem}'; add a spec to tests/Models", nameof(stem)),
    };
}
