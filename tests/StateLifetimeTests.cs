using System.Buffers.Binary;
using Embedded.Rnn.Hosting;
using Embedded.Rnn.Tests.Models;
using Embedded.Rnn.Tests.Support;
using Xunit;

namespace Embedded.Rnn.Tests;

/// <summary>
/// A stream that runs for months: a bad reading poisons the state (IsFinite tells, Reset or a snapshot recovers), and a
/// state survives a restart as bytes (WriteTo, ReadFrom) that another model or spec refuses.
/// </summary>
public sealed class StateLifetimeTests
{
    private static LstmI8H16T10B2L2 TwoLayerLstm(KernelPath path) =>
        LstmI8H16T10B2L2.FromSafetensors(ReferenceCase.Load("lstm_i8_h16_t10_b2_l2").ParameterFile(), path);

    private static float[] Input(int t, int size) => Enumerable.Range(0, size).Select(i => MathF.Sin(0.3f * t + i)).ToArray();

    private static float[] Steps(LstmI8H16T10B2L2 model, ref LstmI8H16T10B2L2.State state, int from, int count)
    {
        var ys = new float[count * LstmI8H16T10B2L2.OutputSize];
        for (int t = 0; t < count; t++)
        {
            model.Step(Input(from + t, LstmI8H16T10B2L2.InputSize), ref state, ys.AsSpan(t * LstmI8H16T10B2L2.OutputSize, LstmI8H16T10B2L2.OutputSize));
        }

        return ys;
    }

    [Theory]
    [InlineData(KernelPath.Scalar)]
    [InlineData(KernelPath.Vector128)]
    [InlineData(KernelPath.Vector256)]
    [InlineData(KernelPath.Vector512)]
    public void A_nan_reading_poisons_the_state_IsFinite_says_so_and_a_snapshot_or_Reset_recovers(KernelPath path)
    {
        const float bad = float.NaN;
        var model = TwoLayerLstm(path);
        var state = default(LstmI8H16T10B2L2.State);
        Steps(model, ref state, 0, 30);
        Assert.True(state.IsFinite());
        var snapshot = state; // a value type: the copy is the snapshot
        var expected = Steps(model, ref snapshot, 31, 20);
        snapshot = state;

        var x = Input(30, LstmI8H16T10B2L2.InputSize);
        x[3] = bad;
        model.Step(x, ref state, new float[LstmI8H16T10B2L2.OutputSize]);
        Assert.False(state.IsFinite());
        var afterwards = Steps(model, ref state, 31, 20);
        Assert.False(state.IsFinite()); // it does not heal by itself: every later output is NaN
        Assert.All(afterwards, v => Assert.True(float.IsNaN(v)));

        state = snapshot;
        Assert.True(state.IsFinite());
        Assert.Equal(expected, Steps(model, ref state, 31, 20));

        state.Reset();
        var fresh = default(LstmI8H16T10B2L2.State);
        Assert.Equal(Steps(model, ref fresh, 0, 5), Steps(model, ref state, 0, 5));
    }

    [Theory]
    [InlineData(KernelPath.Scalar)]
    [InlineData(KernelPath.Vector512)]
    public void An_infinite_reading_saturates_an_lstms_gates_but_poisons_a_relu_rnn(KernelPath path)
    {
        // LSTM: ±∞ drives every gate to exactly 0 or 1 and g to ±1, so c and h stay finite (the step's output is still
        // not a real prediction); a ReLU RNN passes +∞ into h, and the next step's products make it NaN.
        var lstm = TwoLayerLstm(path);
        var lstmState = default(LstmI8H16T10B2L2.State);
        var x = Input(0, LstmI8H16T10B2L2.InputSize);
        x[2] = float.PositiveInfinity;
        lstm.Step(x, ref lstmState, new float[LstmI8H16T10B2L2.OutputSize]);
        Assert.True(lstmState.IsFinite());

        var relu = RnnReluI1H8T5B1.FromSafetensors(ReferenceCase.Load("rnn_relu_i1_h8_t5_b1").ParameterFile(), path);
        var reluState = default(RnnReluI1H8T5B1.State);
        var y = new float[RnnReluI1H8T5B1.OutputSize];
        relu.Step([float.PositiveInfinity], ref reluState, y);
        relu.Step([0.5f], ref reluState, y);
        Assert.False(reluState.IsFinite());
        reluState.Reset();
        relu.Step([0.5f], ref reluState, y);
        Assert.True(reluState.IsFinite());
    }

    private const float SmallestNormal = 1.17549435e-38f;

    public static TheoryData<string> DecayingModels() => ["lstm", "gru", "rnn", "rnn (relu)"];

    // A stream that goes quiet after a burst: with DecayingWeights the state decays towards zero so slowly that, without
    // the cells' flush (Pointwise.SmallestNormal), it settles in subnormal floats for good (the GRU's h: 64 of 64 values
    // in the benchmark before the flush; a ReLU RNN with a recurrence of 0.99 likewise). With it, no subnormal stays in
    // the state on any path (a tanh RNN never needed it: tanh's output is never subnormal). Every path must stay
    // finite and agree with the scalar path: a relative bound means nothing near zero, so after the quiet phase the bar
    // is 1e-5 relative plus float's smallest normal value in absolute terms; during the burst it is the usual 1e-5
    // relative to the largest output.
    [Theory]
    [MemberData(nameof(DecayingModels))]
    public void A_stream_that_decays_towards_zero_keeps_no_subnormals_stays_finite_and_matches_the_scalar_path(string cell)
    {
        var scalar = QuietStream(cell, KernelPath.Scalar);
        foreach (var path in new[] { KernelPath.Scalar, KernelPath.Vector128, KernelPath.Vector256, KernelPath.Vector512 })
        {
            var vector = path == KernelPath.Scalar ? scalar : QuietStream(cell, path);
            Assert.True(vector.Subnormals == 0, $"{cell} on {path}: {vector.Subnormals} subnormal state values after the quiet phase");
            float scale = scalar.Burst.Max(MathF.Abs);
            for (int i = 0; i < scalar.Burst.Length; i++)
            {
                Assert.True(MathF.Abs(vector.Burst[i] - scalar.Burst[i]) <= 1e-5f * scale, $"{cell} on {path}: burst output {i} is {vector.Burst[i]:R}, scalar {scalar.Burst[i]:R}");
            }

            Assert.All(vector.Quiet, v => Assert.True(float.IsFinite(v)));
            for (int i = 0; i < scalar.Quiet.Length; i++)
            {
                Assert.True(MathF.Abs(vector.Quiet[i] - scalar.Quiet[i]) <= 1e-5f * MathF.Abs(scalar.Quiet[i]) + SmallestNormal, $"{cell} on {path}: h[{i}] after the quiet phase is {vector.Quiet[i]:R}, scalar {scalar.Quiet[i]:R}");
            }
        }
    }

    private static (float[] Burst, float[] Quiet, int Subnormals) QuietStream(string cell, KernelPath path) => cell switch
    {
        "lstm" => QuietStream<LstmI1H8T5B1, LstmI1H8T5B1.State>(LstmI1H8T5B1.FromParameters(DecayingWeights.For(cell, LstmI1H8T5B1.Parameters, 8), path)),
        "gru" => QuietStream<GruI1H8T5B1, GruI1H8T5B1.State>(GruI1H8T5B1.FromParameters(DecayingWeights.For(cell, GruI1H8T5B1.Parameters, 8), path)),
        "rnn (relu)" => QuietStream<RnnReluI1H8T5B1, RnnReluI1H8T5B1.State>(RnnReluI1H8T5B1.FromParameters(DecayingWeights.For(cell, RnnReluI1H8T5B1.Parameters, 8), path)),
        _ => QuietStream<RnnTanhI1H8T5B1, RnnTanhI1H8T5B1.State>(RnnTanhI1H8T5B1.FromParameters(DecayingWeights.For(cell, RnnTanhI1H8T5B1.Parameters, 8), path)),
    };

    // 200 steps of a burst (outputs kept), then 1,000,000 steps of zero input; returns the burst's outputs and the final h.
    private static (float[] Burst, float[] Quiet, int Subnormals) QuietStream<TModel, TState>(TModel model)
        where TModel : IStreamingRnnModel<TState>
        where TState : struct, IRnnState
    {
        var state = default(TState);
        var burst = new float[200 * 8];
        for (int t = 0; t < 200; t++)
        {
            model.Step([MathF.Sin(0.2f * t) * 3f], ref state, burst.AsSpan(t * 8, 8));
        }

        var y = new float[8];
        float[] zero = [0f];
        for (int t = 0; t < 1_000_000; t++)
        {
            model.Step(zero, ref state, y);
        }

        return (burst, state.Hidden(0).ToArray(), DecayingWeights.Subnormals(ref state, model.Shape));
    }

    [Fact]
    public void IsFinite_looks_at_every_layer_direction_and_the_cell_state()
    {
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            var lstm = default(LstmI8H16T10B2L2.State);
            lstm.Cell(1)[LstmI8H16T10B2L2.HiddenSize - 1] = bad;
            Assert.False(lstm.IsFinite());

            var bidirectional = default(GruI6H16T9B2Bidir.State);
            Assert.True(bidirectional.IsFinite());
            bidirectional.Hidden(0, 1)[7] = bad;
            Assert.False(bidirectional.IsFinite());

            var rnn = default(RnnTanhI1H8T5B1.State);
            rnn.Hidden(0)[0] = bad;
            Assert.False(((IRnnState)rnn).IsFinite());
        }

        var large = default(LstmI8H16T10B2L2.State);
        large.Hidden(1).Fill(float.MaxValue);
        large.Cell(0).Fill(-float.Epsilon);
        Assert.True(large.IsFinite());
    }

    [Theory]
    [InlineData(KernelPath.Scalar)]
    [InlineData(KernelPath.Vector512)]
    public void A_state_written_to_bytes_and_read_back_continues_bit_for_bit(KernelPath path)
    {
        var model = TwoLayerLstm(path);
        var state = default(LstmI8H16T10B2L2.State);
        Steps(model, ref state, 0, 40);
        var bytes = new byte[LstmI8H16T10B2L2.State.SavedLength + 7];
        Assert.Equal(LstmI8H16T10B2L2.State.SavedLength, state.WriteTo(bytes));

        var restored = default(LstmI8H16T10B2L2.State);
        restored.ReadFrom(bytes.AsSpan(0, LstmI8H16T10B2L2.State.SavedLength));
        Assert.Equal(Steps(model, ref state, 40, 25), Steps(model, ref restored, 40, 25));
    }

    [Fact]
    public void The_bytes_are_the_documented_format()
    {
        var state = default(LstmI8H16T10B2L2.State);
        for (int layer = 0; layer < 2; layer++)
        {
            for (int i = 0; i < 16; i++)
            {
                state.Hidden(layer)[i] = layer * 100 + i;
                state.Cell(layer)[i] = -(layer * 100 + i);
            }
        }

        var bytes = new byte[LstmI8H16T10B2L2.State.SavedLength];
        state.WriteTo(bytes);
        Assert.Equal(32 + 2 * 2 * 16 * 4, bytes.Length);
        Assert.Equal("ERNS"u8.ToArray(), bytes[..4]);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(4)));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(6))); // has a cell state
        Assert.Equal(2, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(16)));
        Assert.Equal(1, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(20)));
        Assert.Equal(16, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(24)));
        float At(int index) => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(32 + 4 * index));
        Assert.Equal(5f, At(5));          // h, layer 0
        Assert.Equal(115f, At(16 + 15));  // h, layer 1
        Assert.Equal(-3f, At(32 + 3));    // c, layer 0
        Assert.Equal(-109f, At(48 + 9));  // c, layer 1

        // FNV-1a over every byte but the checksum's own
        uint hash = 2166136261;
        for (int i = 0; i < bytes.Length; i++)
        {
            if (i < 28 || i >= 32)
            {
                hash = (hash ^ bytes[i]) * 16777619;
            }
        }

        Assert.Equal(hash, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(28)));
    }

    [Fact]
    public void Writing_a_state_allocates_nothing()
    {
        var state = default(LstmI8H16T10B2L2.State);
        state.Hidden(0).Fill(0.5f);
        var bytes = new byte[LstmI8H16T10B2L2.State.SavedLength];
        bool finite = true;
        void Save(ref LstmI8H16T10B2L2.State state)
        {
            for (int i = 0; i < 1000; i++)
            {
                state.WriteTo(bytes);
                finite &= state.IsFinite();
            }
        }

        Save(ref state); // warm up with the same loop (compiled on its first pass)
        Assert.Equal(0, Allocations.Settled(() => Save(ref state)));
        Assert.True(finite);
    }

    [Fact]
    public void Another_models_state_is_refused_with_a_clear_error_and_leaves_the_state_as_it_was()
    {
        // Another cell with the same input and hidden sizes: the sizes and the cell state differ.
        var gruBytes = Saved(default(GruI1H8T5B1.State));
        var lstm = default(LstmI1H8T5B1.State);
        lstm.Hidden(0).Fill(0.25f);
        var e = Assert.Throws<InvalidDataException>(() => lstm.ReadFrom(gruBytes));
        Assert.Contains("another model", e.Message);
        Assert.Contains("with a cell state", e.Message);
        Assert.All(lstm.Hidden(0).ToArray(), v => Assert.Equal(0.25f, v));

        // Same sizes, no cell state either, another activation: only the spec's fingerprint tells them apart.
        var reluBytes = Saved(default(RnnReluI1H8T5B1.State));
        var tanh = default(RnnTanhI1H8T5B1.State);
        tanh.Hidden(0).Fill(0.75f);
        e = Assert.Throws<InvalidDataException>(() => tanh.ReadFrom(reluBytes));
        Assert.Contains("another model spec with the same sizes", e.Message);
        Assert.All(tanh.Hidden(0).ToArray(), v => Assert.Equal(0.75f, v));

        // Same cell and hidden size, another input size: the fingerprint again.
        var narrow = Saved(default(GruI1H8T5B1.State));
        var wideInput = default(GruI8H32T20B2.State);
        Assert.Contains("another model", Assert.Throws<InvalidDataException>(() => wideInput.ReadFrom(narrow)).Message);
    }

    [Fact]
    public void Damaged_truncated_or_foreign_bytes_are_refused_and_leave_the_state_as_it_was()
    {
        var source = default(LstmI8H16T10B2L2.State);
        source.Hidden(1).Fill(0.125f);
        var bytes = Saved(source);
        var target = default(LstmI8H16T10B2L2.State);
        target.Cell(0).Fill(2f);

        void Refused(byte[] input, string message)
        {
            var e = Assert.Throws<InvalidDataException>(() => target.ReadFrom(input));
            Assert.Contains(message, e.Message);
            Assert.All(target.Cell(0).ToArray(), v => Assert.Equal(2f, v));
            Assert.All(target.Hidden(1).ToArray(), v => Assert.Equal(0f, v));
        }

        Refused(bytes[..^1], "truncated");
        Refused([.. bytes, 0], "more than one state");
        Refused(bytes[..10], "Not a saved Embedded.Rnn state");
        Refused([], "Not a saved Embedded.Rnn state");
        Refused("PK\u0003\u0004 not a state at all, but long enough"u8.ToArray(), "Not a saved Embedded.Rnn state");
        var flipped = (byte[])bytes.Clone();
        flipped[100] ^= 0x10;
        Refused(flipped, "checksum");
        var version = (byte[])bytes.Clone();
        version[4] = 9;
        Refused(version, "format version 9");

        target.ReadFrom(bytes);
        Assert.All(target.Hidden(1).ToArray(), v => Assert.Equal(0.125f, v));
        Assert.All(target.Cell(0).ToArray(), v => Assert.Equal(0f, v)); // replaced, not merged
    }

    [Fact]
    public void A_too_short_destination_is_an_argument_error()
    {
        var state = default(GruI8H32T20B2.State);
        var e = Assert.Throws<ArgumentException>(() => state.WriteTo(new byte[GruI8H32T20B2.State.SavedLength - 1]));
        Assert.Equal("destination", e.ParamName);
    }

    private static byte[] Saved<TState>(TState state)
        where TState : struct, IRnnState
    {
        var bytes = new byte[4096];
        int written = state.WriteTo(bytes);
        return bytes[..written];
    }
}
