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
        void Stream(ref LstmI8H32T20B2.State state)
        {
            for (int i = 0; i < 10_000; i++)
            {
                x[i % x.Length] = MathF.Sin(i * 0.01f);
                model.Step(x, ref state, y);
            }
        }

        // Warm up with the same loop: its first pass is compiled mid-loop (on-stack replacement) on this thread, and
        // the JIT may allocate runtime type data then (this test failed once in eight runs with a one-step warm-up).
        Stream(ref state);
        Assert.Equal(0, Allocations.Settled(() => Stream(ref state)));
        Assert.All(y, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Reset_before_gru_steps_allocate_nothing_on_every_path()
    {
        // Its step has a second pass over the weights (r ⊙ h between them): still no allocation, on any path.
        var weights = ReferenceCase.Load("gru_before_i5_h12_t7_b3").ParameterFile();
        var x = new float[GruBeforeI5H12T7B3.InputSize];
        var y = new float[GruBeforeI5H12T7B3.OutputSize];
        foreach (var path in KernelLayout.WidestFirst.Where(KernelPaths.IsAccelerated))
        {
            var model = GruBeforeI5H12T7B3.FromSafetensors(weights, path);
            var state = default(GruBeforeI5H12T7B3.State);
            void Stream(ref GruBeforeI5H12T7B3.State state)
            {
                for (int i = 0; i < 10_000; i++)
                {
                    x[i % x.Length] = MathF.Sin(i * 0.01f);
                    model.Step(x, ref state, y);
                }
            }

            Stream(ref state); // warm up (see Step_allocates_nothing_over_10000_steps)
            Assert.Equal(0, Allocations.Settled(() => Stream(ref state)));
            Assert.All(y, v => Assert.True(float.IsFinite(v)));
        }
    }

    [Fact]
    public void Generic_code_constrained_to_inference_and_training_sees_one_shape_and_one_path()
    {
        var model = Lstm();
        var (shape, path) = ShapeAndPath<LstmI8H32T20B2, LstmI8H32T20B2.State>(model);
        Assert.Equal(LstmI8H32T20B2.Shape, shape);
        Assert.Equal(model.Path, path);

        // Both interfaces inherit the two members from IGeneratedRnnModel, so neither access is ambiguous.
        static (RnnShape, KernelPath) ShapeAndPath<TModel, TState>(TModel model)
            where TModel : IStreamingRnnModel<TState>, ITrainableRnnModel
            where TState : struct, IRnnState => (model.Shape, model.Path);
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
        void Runs()
        {
            for (int i = 0; i < 100; i++)
            {
                uni.Run(xs, ref uniState, ys);
                bidirectional.Run(bxs, ref biState, bys);
            }
        }

        Runs(); // warm up: rents the workspace once, and compiles the loops (see Step_allocates_nothing_over_10000_steps)
        Assert.Equal(0, Allocations.Settled(Runs));
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

    /// <summary>Every path this machine runs natively, and the scalar path (which every machine runs).</summary>
    public static TheoryData<KernelPath> PathsThisMachineRuns()
    {
        var data = new TheoryData<KernelPath>();
        foreach (var path in Enum.GetValues<KernelPath>().Where(KernelPaths.IsAccelerated))
        {
            data.Add(path);
        }

        return data;
    }

    /// <summary>
    /// One weights object shared by 8 threads (on however few cores), each stepping 4 states of its own in
    /// turn over 600 steps, and bidirectional whole-sequence runs (rented and caller-owned workspaces), all
    /// started together: every output equals, bit for bit, the same stream run alone and sequentially.
    /// </summary>
    [Theory]
    [MemberData(nameof(PathsThisMachineRuns))]
    public void One_model_serves_many_states_on_many_threads_bit_for_bit(KernelPath path)
    {
        const int threads = 8, statesPerThread = 4, streams = threads * statesPerThread, steps = 600, sequenceSteps = 150;
        var lstm = Lstm(path);
        var leaky = RnnLeakyDeep.FromSafetensors(RandomWeights(RnnLeakyDeep.Parameters, seed: 3), path);
        var bidirectional = GruBidirHeadSigmoid.FromSafetensors(RandomWeights(GruBidirHeadSigmoid.Parameters, seed: 4), path);
        Assert.Equal(path, lstm.Path);
        var random = new Random(17);
        float[] Noise(int count) => Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        var lstmInputs = Enumerable.Range(0, streams).Select(_ => Noise(steps * LstmI8H32T20B2.InputSize)).ToArray();
        var leakyInputs = Enumerable.Range(0, streams).Select(_ => Noise(steps * RnnLeakyDeep.InputSize)).ToArray();
        var sequenceInputs = Enumerable.Range(0, streams).Select(_ => Noise(sequenceSteps * GruBidirHeadSigmoid.InputSize)).ToArray();

        // Sequential: one stream at a time, on this thread.
        var expectedLstm = new float[streams][];
        var expectedLeaky = new float[streams][];
        var expectedSequence = new float[streams][];
        for (int s = 0; s < streams; s++)
        {
            var lstmState = default(LstmI8H32T20B2.State);
            var leakyState = default(RnnLeakyDeep.State);
            var sequenceState = default(GruBidirHeadSigmoid.State);
            expectedLstm[s] = new float[steps * LstmI8H32T20B2.OutputSize];
            expectedLeaky[s] = new float[steps * RnnLeakyDeep.OutputSize];
            expectedSequence[s] = new float[sequenceSteps * GruBidirHeadSigmoid.OutputSize];
            for (int t = 0; t < steps; t++)
            {
                lstm.Step(lstmInputs[s].AsSpan(t * LstmI8H32T20B2.InputSize, LstmI8H32T20B2.InputSize), ref lstmState, expectedLstm[s].AsSpan(t * LstmI8H32T20B2.OutputSize, LstmI8H32T20B2.OutputSize));
                leaky.Step(leakyInputs[s].AsSpan(t * RnnLeakyDeep.InputSize, RnnLeakyDeep.InputSize), ref leakyState, expectedLeaky[s].AsSpan(t * RnnLeakyDeep.OutputSize, RnnLeakyDeep.OutputSize));
            }

            bidirectional.Run(sequenceInputs[s], ref sequenceState, expectedSequence[s]);
        }

        // Concurrent: each thread interleaves the steps of its own states, all threads released at once.
        var actualLstm = new float[streams][];
        var actualLeaky = new float[streams][];
        var actualSequence = new float[streams][];
        var start = new Barrier(threads);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var workers = Enumerable.Range(0, threads).Select(w => new Thread(() =>
        {
            try
            {
                var mine = Enumerable.Range(w * statesPerThread, statesPerThread).ToArray();
                var lstmStates = new LstmI8H32T20B2.State[statesPerThread];
                var leakyStates = new RnnLeakyDeep.State[statesPerThread];
                foreach (int s in mine)
                {
                    actualLstm[s] = new float[steps * LstmI8H32T20B2.OutputSize];
                    actualLeaky[s] = new float[steps * RnnLeakyDeep.OutputSize];
                    actualSequence[s] = new float[sequenceSteps * GruBidirHeadSigmoid.OutputSize];
                }

                var workspace = new float[GruBidirHeadSigmoid.RunWorkspaceLength(sequenceSteps)];
                start.SignalAndWait();
                for (int t = 0; t < steps; t++)
                {
                    for (int k = 0; k < statesPerThread; k++)
                    {
                        int s = mine[k];
                        lstm.Step(lstmInputs[s].AsSpan(t * LstmI8H32T20B2.InputSize, LstmI8H32T20B2.InputSize), ref lstmStates[k], actualLstm[s].AsSpan(t * LstmI8H32T20B2.OutputSize, LstmI8H32T20B2.OutputSize));
                        leaky.Step(leakyInputs[s].AsSpan(t * RnnLeakyDeep.InputSize, RnnLeakyDeep.InputSize), ref leakyStates[k], actualLeaky[s].AsSpan(t * RnnLeakyDeep.OutputSize, RnnLeakyDeep.OutputSize));
                    }

                    if (t % (steps / statesPerThread) == 0)
                    {
                        // Whole sequences in between, alternating the pool's workspace and this thread's own.
                        int k = t / (steps / statesPerThread), s = mine[k];
                        var sequenceState = default(GruBidirHeadSigmoid.State);
                        if (k % 2 == 0)
                        {
                            bidirectional.Run(sequenceInputs[s], ref sequenceState, actualSequence[s]);
                        }
                        else
                        {
                            bidirectional.Run(sequenceInputs[s], ref sequenceState, actualSequence[s], workspace);
                        }
                    }
                }
            }
            catch (Exception e)
            {
                failures.Enqueue(e);
                start.RemoveParticipant();
            }
        })).ToArray();
        foreach (var worker in workers)
        {
            worker.Start();
        }

        foreach (var worker in workers)
        {
            worker.Join();
        }

        Assert.Empty(failures);
        for (int s = 0; s < streams; s++)
        {
            AssertBitwiseEqual(expectedLstm[s], actualLstm[s], $"lstm stream {s}");
            AssertBitwiseEqual(expectedLeaky[s], actualLeaky[s], $"leaky rnn stream {s}");
            AssertBitwiseEqual(expectedSequence[s], actualSequence[s], $"bidirectional gru sequence {s}");
        }

        Assert.NotEqual(expectedLstm[0], expectedLstm[1]); // the streams differ, so a mix-up would show
    }

    /// <summary>The hot path takes no lock: the generated Step/Run code uses no locking or interlocked primitive.</summary>
    [Theory]
    [InlineData("{\"cell\": \"lstm\", \"input\": 8, \"hidden\": 32}")]
    [InlineData("{\"cell\": \"gru\", \"input\": 4, \"hidden\": 12, \"layers\": 2, \"bidirectional\": true, \"head\": {\"output\": 3, \"activation\": \"sigmoid\"}}")]
    [InlineData("{\"cell\": \"rnn\", \"activation\": \"leaky_relu\", \"input\": 7, \"hidden\": 40, \"layers\": 3}")]
    public void Generated_kernels_take_no_locks(string spec)
    {
        string source = Generator.GeneratorHarness.Run("using Embedded.Rnn;\nnamespace App;\n[RnnModel(\"models/net.rnn.json\")]\npublic partial class Net { }", ("models/net.rnn.json", spec)).Result.GeneratedSources.Single().SourceText.ToString();
        var locking = System.Text.RegularExpressions.Regex.Match(source, @"\block\s*\(|\b(Monitor|Interlocked|Volatile)\.|\b(SpinLock|Mutex|SemaphoreSlim|Semaphore|ReaderWriterLockSlim|Lazy)\b");
        Assert.False(locking.Success, $"the generated code uses '{locking.Value}'");
    }

    private static void AssertBitwiseEqual(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                Assert.Fail($"{what}: value {i} is {actual[i]:R} on many threads but {expected[i]:R} alone");
            }
        }
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
        Assert.Contains("x has length 7; expected 8 (InputSize)", e.Message);
        Assert.Contains("y has length 31; expected 32 (OutputSize)", Assert.Throws<ArgumentException>(() => model.Step(new float[8], ref state, new float[31])).Message);
        Assert.Contains("xs has length 17; expected a multiple of 8 (InputSize)", Assert.Throws<ArgumentException>(() => model.Run(new float[17], ref state, new float[64])).Message);
        Assert.Contains("ys has length 63; expected 64 (T × OutputSize", Assert.Throws<ArgumentException>(() => model.Run(new float[16], ref state, new float[63])).Message);
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
