using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using Embedded.Rnn.Tests.Models;
using Embedded.Rnn.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Embedded.Rnn.Tests;

/// <summary>Zero allocation, path selection, shared weights, and argument checking of generated models.</summary>
public sealed class RuntimeBehaviourTests(ITestOutputHelper output)
{
    private static LstmI8H32T20B2 Lstm(KernelPath? path = null) =>
        LstmI8H32T20B2.FromSafetensors(ReferenceCase.Load("lstm_i8_h32_t20_b2").ParameterFile(), path);

    [Fact]
    public void Step_allocates_nothing_over_10000_steps()
    {
        var model = Lstm();
        var state = default(LstmI8H32T20B2.State);
        var x = new float[LstmI8H32T20B2.InputSize];
        var y = new float[LstmI8H32T20B2.OutputSize];
        model.Step(x, ref state, y); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            x[i % x.Length] = MathF.Sin(i * 0.01f);
            model.Step(x, ref state, y);
        }

        long after = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(before, after);
        Assert.All(y, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Run_allocates_nothing_unidirectional_or_bidirectional_with_head()
    {
        var uni = Lstm();
        var uniState = default(LstmI8H32T20B2.State);
        var xs = new float[100 * LstmI8H32T20B2.InputSize];
        var ys = new float[100 * LstmI8H32T20B2.OutputSize];

        var bidirectional = GruBidirHeadSigmoid.FromSafetensors(RandomWeights(GruBidirHeadSigmoid.Parameters));
        var biState = default(GruBidirHeadSigmoid.State);
        var bxs = new float[100 * GruBidirHeadSigmoid.InputSize];
        var bys = new float[100 * GruBidirHeadSigmoid.OutputSize];
        uni.Run(xs, ref uniState, ys);
        bidirectional.Run(bxs, ref biState, bys); // warm up: rents the workspace once

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            uni.Run(xs, ref uniState, ys);
            bidirectional.Run(bxs, ref biState, bys);
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [Fact]
    public void Default_path_is_the_widest_the_environment_accelerates()
    {
        // .ci/run sets EMBEDDED_RNN_EXPECTED_PATH for each DOTNET_Enable* leg, so this proves the knob took effect.
        string? expected = Environment.GetEnvironmentVariable("EMBEDDED_RNN_EXPECTED_PATH");
        var derived = Avx512F.IsSupported && Vector512.IsHardwareAccelerated ? KernelPath.Vector512
            : Avx2.IsSupported && Fma.IsSupported ? KernelPath.Vector256
            : Sse2.IsSupported || AdvSimd.IsSupported ? KernelPath.Vector128
            : KernelPath.Scalar;
        var model = Lstm();
        output.WriteLine($"default path {model.Path}; expected {expected ?? "(not set)"}; derived from ISA flags {derived}");
        Assert.Equal(KernelPaths.Best, model.Path);
        Assert.Equal(derived, model.Path);
        if (expected is not null)
        {
            Assert.Equal(Enum.Parse<KernelPath>(expected), model.Path);
        }
    }

    [Theory]
    [InlineData(KernelPath.Scalar)]
    [InlineData(KernelPath.Vector128)]
    [InlineData(KernelPath.Vector256)]
    [InlineData(KernelPath.Vector512)]
    public void A_forced_path_is_the_path_that_runs(KernelPath path) => Assert.Equal(path, Lstm(path).Path);

    [Fact]
    public void Paths_agree_with_each_other_on_the_same_inputs()
    {
        var models = Enum.GetValues<KernelPath>().Select(p => Lstm(p)).ToArray();
        var random = new Random(5);
        var xs = Enumerable.Range(0, 50 * LstmI8H32T20B2.InputSize).Select(_ => (float)(random.NextDouble() * 6 - 3)).ToArray();
        var outputs = models.Select(m =>
        {
            var s = default(LstmI8H32T20B2.State);
            var ys = new float[50 * LstmI8H32T20B2.OutputSize];
            m.Run(xs, ref s, ys);
            return ys;
        }).ToArray();
        foreach (var other in outputs.Skip(1))
        {
            for (int i = 0; i < other.Length; i++)
            {
                Assert.True(Math.Abs(other[i] - outputs[0][i]) <= 2e-6, $"paths differ at {i}: {outputs[0][i]} vs {other[i]}");
            }
        }
    }

    [Fact]
    public void One_model_serves_many_states_on_many_threads()
    {
        var model = Lstm();
        const int streams = 16;
        var inputs = Enumerable.Range(0, streams).Select(s => Enumerable.Range(0, 40 * LstmI8H32T20B2.InputSize).Select(i => MathF.Sin(i * 0.1f + s)).ToArray()).ToArray();
        float[] RunOne(int s)
        {
            var state = default(LstmI8H32T20B2.State);
            var ys = new float[40 * LstmI8H32T20B2.OutputSize];
            model.Run(inputs[s], ref state, ys);
            return ys;
        }

        var sequential = Enumerable.Range(0, streams).Select(RunOne).ToArray();
        var parallel = new float[streams][];
        Parallel.For(0, streams, new ParallelOptions { MaxDegreeOfParallelism = 4 }, s => parallel[s] = RunOne(s));
        for (int s = 0; s < streams; s++)
        {
            Assert.Equal(sequential[s], parallel[s]);
        }

        Assert.NotEqual(sequential[0], sequential[1]);
    }

    [Fact]
    public void State_parts_read_write_and_reset()
    {
        var state = default(LstmI8H16T10B2L2.State);
        state.Hidden(1).Fill(2f);
        state.Cell(0).Fill(3f);
        Assert.Equal(LstmI8H16T10B2L2.HiddenSize, state.Hidden(0).Length);
        Assert.All(state.Hidden(1).ToArray(), v => Assert.Equal(2f, v));
        Assert.All(state.Hidden(0).ToArray(), v => Assert.Equal(0f, v));
        Assert.All(state.Cell(0).ToArray(), v => Assert.Equal(3f, v));
        state.Reset();
        Assert.All(state.Hidden(1).ToArray(), v => Assert.Equal(0f, v));
        Assert.All(state.Cell(0).ToArray(), v => Assert.Equal(0f, v));
        Assert.Throws<ArgumentOutOfRangeException>(() => default(LstmI8H16T10B2L2.State).Hidden(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => default(LstmI8H16T10B2L2.State).Cell(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => default(LstmI6H16T9B2Bidir.State).Hidden(0, 2));
        Assert.Throws<NotSupportedException>(() => ((IRnnState)default(GruI1H8T5B1.State)).Cell(0));
    }

    [Fact]
    public void Wrong_lengths_throw_clear_argument_errors()
    {
        var model = Lstm();
        var state = default(LstmI8H32T20B2.State);
        var e = Assert.Throws<ArgumentException>(() => model.Step(new float[7], ref state, new float[32]));
        Assert.Contains("x has length 7; expected InputSize", e.Message);
        Assert.Throws<ArgumentException>(() => model.Step(new float[8], ref state, new float[31]));
        Assert.Throws<ArgumentException>(() => model.Run(new float[17], ref state, new float[64]));
        Assert.Throws<ArgumentException>(() => model.Run(new float[16], ref state, new float[63]));
        var bidirectional = GruNobiasBidir.FromSafetensors(RandomWeights(GruNobiasBidir.Parameters));
        var bState = default(GruNobiasBidir.State);
        Assert.Throws<ArgumentException>(() => bidirectional.Run(new float[6], ref bState, new float[19]));
        model.Run([], ref state, []); // an empty sequence is valid and leaves the state alone
    }

    internal static byte[] RandomWeights(IReadOnlyList<ParameterSpec> parameters, int seed = 1)
    {
        var random = new Random(seed);
        var writer = new Safetensors.SafetensorsWriter();
        foreach (var p in parameters)
        {
            writer.Add(p.Name, Enumerable.Range(0, p.ElementCount).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray(), p.Shape.Select(d => (long)d).ToArray());
        }

        return writer.ToArray();
    }
}
