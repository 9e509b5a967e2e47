using System.Reflection;
using System.Runtime.ExceptionServices;
using Embedded.Rnn.Tests.Models;
using Embedded.Rnn.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Embedded.Rnn.Tests;

/// <summary>
/// The nanoFramework flavour with bfloat16 and int8 weights (spec "precision", tests/Models/nano_*_bf16/_int8.rnn.json),
/// run on desktop .NET: against the desktop model of the same spec and precision on its scalar path (1e-6 scaled: the
/// summation orders differ), against the float64 reference on the rounded weights (1e-5) and on the float32 weights
/// (QuantisedWeightsTests' bounds); the rounding written into the generated code against WeightQuantization, bit for
/// bit; baked models against the same spec loaded from the float32 file; and that the weight matrices really are kept
/// in their narrow type. tools/NanoCheck compiles the same generated source against nanoFramework's mscorlib.
/// </summary>
public sealed class NanoQuantisedParityTests(ITestOutputHelper output)
{
    private static readonly (string Stem, WeightStorage Storage, Type Type)[] Twins =
    [
        ("lstm_i1_h8_t5_b1", WeightStorage.BFloat16, typeof(NanoLstmI1H8T5B1Bf16)),
        ("lstm_i1_h8_t5_b1", WeightStorage.Int8, typeof(NanoLstmI1H8T5B1Int8)),
        ("lstm_i8_h16_t10_b2_l2", WeightStorage.BFloat16, typeof(NanoLstmI8H16T10B2L2Bf16)),
        ("lstm_i8_h16_t10_b2_l2", WeightStorage.Int8, typeof(NanoLstmI8H16T10B2L2Int8)),
        ("gru_i6_h16_t9_b2_bidir", WeightStorage.BFloat16, typeof(NanoGruI6H16T9B2BidirBf16)),
        ("gru_i6_h16_t9_b2_bidir", WeightStorage.Int8, typeof(NanoGruI6H16T9B2BidirInt8)),
        ("gru_before_i4_h20_t6_b2_l2_nobias", WeightStorage.BFloat16, typeof(NanoGruBeforeI4H20T6B2L2NobiasBf16)),
        ("gru_before_i4_h20_t6_b2_l2_nobias", WeightStorage.Int8, typeof(NanoGruBeforeI4H20T6B2L2NobiasInt8)),
        ("rnn_relu_i8_h32_t20_b2", WeightStorage.BFloat16, typeof(NanoRnnReluI8H32T20B2Bf16)),
        ("rnn_relu_i8_h32_t20_b2", WeightStorage.Int8, typeof(NanoRnnReluI8H32T20B2Int8)),
        ("lstm_wide_head", WeightStorage.BFloat16, typeof(NanoLstmWideHeadBf16)),
        ("lstm_wide_head", WeightStorage.Int8, typeof(NanoLstmWideHeadInt8)),
    ];

    public static TheoryData<string, WeightStorage> TwinData()
    {
        var data = new TheoryData<string, WeightStorage>();
        foreach (var (stem, storage, _) in Twins)
        {
            data.Add(stem, storage);
        }

        return data;
    }

    private static Type Twin(string stem, WeightStorage storage) => Twins.Single(t => t.Stem == stem && t.Storage == storage).Type;

    [Theory]
    [MemberData(nameof(TwinData))]
    public void Matches_the_desktop_scalar_model_of_its_precision_and_the_references(string stem, WeightStorage storage)
    {
        var (spec, parameters, scenarios) = QuantisedWeightsTests.Scenarios(stem);
        var nano = new NanoModel(Twin(stem, storage), parameters.ToDictionary(p => p.Key, p => p.Value.Values));
        var file = QuantisedWeightsTests.File(parameters);
        var exact = parameters.ToDictionary(p => p.Key, p => Tolerance.Wide(p.Value.Values));
        var rounded = parameters.ToDictionary(p => p.Key, p => Tolerance.Wide(QuantisedWeightsTests.IsWeight(p.Key) ? QuantisedWeightsTests.Round(p.Value.Values, p.Value.Shape, storage) : p.Value.Values));
        double worstDesktop = 0, worstRounded = 0, worstFloat32 = 0;
        long compared = 0, identical = 0;
        foreach (var (xs, h0, c0) in scenarios)
        {
            var desktop = QuantisedModels.Accept(stem, storage, file, KernelPath.Scalar, new RunOutcome(xs, h0, c0));
            var onRounded = ReferenceRnn.Run(spec, rounded, Tolerance.Wide(xs), h0.Select(Tolerance.Wide).ToArray(), c0?.Select(Tolerance.Wide).ToArray());
            var onFloat32 = ReferenceRnn.Run(spec, exact, Tolerance.Wide(xs), h0.Select(Tolerance.Wide).ToArray(), c0?.Select(Tolerance.Wide).ToArray());
            foreach (bool stepwise in nano.CanStep ? new[] { false, true } : new[] { false })
            {
                var got = nano.Execute(xs, h0, c0, stepwise);
                string at = $"{stem} {storage} nano {(stepwise ? "Step" : "Run")}";
                var pairs = new List<(float[] Desktop, float[] Nano, string What)> { (desktop.Output, got.Output, "output") };
                for (int s = 0; s < h0.Length; s++)
                {
                    pairs.Add((desktop.HN[s], got.HN[s], $"h_n[{s}]"));
                    if (c0 is not null)
                    {
                        pairs.Add((desktop.CN![s], got.CN![s], $"c_n[{s}]"));
                    }
                }

                foreach (var (expected, actual, what) in pairs)
                {
                    worstDesktop = Math.Max(worstDesktop, Tolerance.AssertClose(Tolerance.Wide(expected), actual, 1e-6, $"{at} {what} against the desktop scalar model"));
                    compared += actual.Length;
                    identical += expected.Zip(actual).Count(p => BitConverter.SingleToInt32Bits(p.First) == BitConverter.SingleToInt32Bits(p.Second));
                }

                worstRounded = Math.Max(worstRounded, Tolerance.AssertClose(onRounded.Output, got.Output, Tolerance.Forward, $"{at} output against the float64 reference on the rounded weights"));
                worstFloat32 = Math.Max(worstFloat32, Tolerance.AssertClose(onFloat32.Output, got.Output, QuantisedWeightsTests.Bound(storage), $"{at} output against the float32 model"));
            }
        }

        output.WriteLine($"{stem} {storage} (nano on desktop .NET): max scaled error {worstDesktop:E2} against the desktop scalar model ({identical} of {compared} values bit-identical), "
            + $"{worstRounded:E2} against the float64 reference on the rounded weights, deviation {worstFloat32:E2} from the float32 model (bound {QuantisedWeightsTests.Bound(storage):E1})");
    }

    [Fact]
    public void Int8_loading_rounds_as_WeightQuantization_bit_for_bit()
    {
        // NanoRnnReluI8H32T20B2Int8: weight_ih_l0 [32, 8], weight_hh_l0 [32, 32], then the biases.
        var random = new Random(11);
        var p = Enumerable.Range(0, NanoRnnReluI8H32T20B2Int8.ParameterCount).Select(i => new float[NanoRnnReluI8H32T20B2Int8.ParameterLength(i)]).ToArray();
        foreach (float[] tensor in p)
        {
            for (int k = 0; k < tensor.Length; k++)
            {
                tensor[k] = (float)((random.NextDouble() * 2 - 1) * Math.Pow(10, random.Next(-6, 4)));
            }
        }

        // A row whose largest weight's quotient, largest / (largest / 127), rounds above 127 in float32: it saturates.
        float over = Enumerable.Range(0, 100_000).Select(_ => (float)random.NextDouble() + 0.5f).First(m => m / (m / 127f) > 127f);
        float[][] rows =
        [
            [127f, 2.5f, 3.5f, -2.5f, -3.5f, 0.5f, -0.5f, 1.5f], // scale 1: all but the first are ties, to the even integer
            [0f, 0f, -0f, 0f, 0f, 0f, 0f, 0f], // a zero row: scale 1, all 0
            [-127f, -126.5f, -0.5f, -1.5f, -2.5f, 0f, 3.5f, -64.5f], // scale 1, negative largest: negative ties
            [over, -over, over / 2, 0f, 1f, -1f, 0.25f, -0.75f], // saturation at ±127
            [float.MaxValue, -float.MaxValue, 1f, -1f, 3e38f, -3e38f, 1e30f, 0f], // the largest magnitudes
            [1e-45f, -1e-45f, 0f, 1e-45f, 0f, 0f, 0f, 0f], // subnormals whose largest / 127 underflows to 0: scale 1, all 0
            [1e-40f, -3e-41f, 5e-42f, 0f, 1e-39f, -1e-39f, 2e-45f, 7e-40f], // subnormal weights whose largest / 127 is subnormal: the same
            [-1.27f, -0.635f, -0.005f, 0f, 0.635f, -1f, -0.3175f, 0.015f], // quotients near halves, after float32 rounding
        ];
        for (int r = 0; r < rows.Length; r++)
        {
            rows[r].CopyTo(p[0], r * 8);
        }

        var model = new NanoRnnReluI8H32T20B2Int8(p);
        var q = Field<sbyte[][]>(model, "_w");
        var scales = Field<float[][]>(model, "_scales");
        var biases = Field<float[][]>(model, "_p");
        for (int t = 0; t < 2; t++)
        {
            int columns = t == 0 ? 8 : 32;
            for (int row = 0; row < p[t].Length / columns; row++)
            {
                float scale = WeightQuantization.RowScale(p[t].AsSpan(row * columns, columns));
                Assert.Equal(BitConverter.SingleToInt32Bits(scale), BitConverter.SingleToInt32Bits(scales[t][row]));
                for (int j = 0; j < columns; j++)
                {
                    Assert.Equal(WeightQuantization.ToInt8(p[t][row * columns + j], scale), q[t][row * columns + j]);
                }
            }

            Assert.Null(biases[t]);
        }

        // The derivation, independently of WeightQuantization: ties to even, a zero row, saturation, a scale too small for float32.
        Assert.Equal(new sbyte[] { 127, 2, 4, -2, -4, 0, 0, 2 }, q[0].AsSpan(0, 8).ToArray());
        Assert.Equal(1f, scales[0][0]);
        Assert.Equal(new sbyte[8], q[0].AsSpan(8, 8).ToArray());
        Assert.Equal(1f, scales[0][1]);
        Assert.Equal(new sbyte[] { -127, -126, 0, -2, -2, 0, 4, -64 }, q[0].AsSpan(16, 8).ToArray());
        Assert.Equal(1f, scales[0][2]);
        Assert.Equal(new sbyte[] { 127, -127 }, q[0].AsSpan(24, 2).ToArray());
        Assert.Equal(1f, scales[0][5]);
        Assert.Equal(new sbyte[8], q[0].AsSpan(40, 8).ToArray());
        Assert.Same(p[2], biases[2]);
        Assert.Same(p[3], biases[3]);
    }

    [Fact]
    public void Int8_rounding_of_a_quotient_equals_WeightQuantization_bit_for_bit()
    {
        var round = typeof(NanoLstmI1H8T5B1Int8).GetMethod("RoundToInt8", BindingFlags.NonPublic | BindingFlags.Static)!.CreateDelegate<Func<float, sbyte>>();
        var random = new Random(3);
        var quotients = new List<float>
        {
            0f, -0f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 0.49999997f, -0.49999997f, 0.50000006f, 1.4999999f, 126.5f, -126.5f, 126.49999f,
            127f, -127f, 127.00001f, -127.00001f, 127.5f, 128f, -128f, 1e30f, -1e30f, float.MaxValue, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 1e-45f, -1e-45f,
        };
        for (int i = 0; i < 100_000; i++)
        {
            quotients.Add((float)(random.NextDouble() * 280 - 140));
            quotients.Add(random.Next(-130, 130) + 0.5f);
        }

        foreach (float quotient in quotients)
        {
            Assert.True(WeightQuantization.ToInt8(quotient, 1f) == round(quotient), $"{quotient:R}: {round(quotient)}, expected {WeightQuantization.ToInt8(quotient, 1f)}");
        }
    }

    [Fact]
    public void Bfloat16_decoding_is_exact_for_every_pattern()
    {
        // Every bfloat16: zero, ±subnormals, normals, the largest finite, ±infinity and NaN.
        var decode = typeof(NanoLstmI1H8T5B1Bf16).GetMethod("FromBFloat16", BindingFlags.NonPublic | BindingFlags.Static)!.CreateDelegate<Func<ushort, float>>();
        for (int bits = 0; bits <= ushort.MaxValue; bits++)
        {
            float expected = WeightQuantization.FromBFloat16((ushort)bits), actual = decode((ushort)bits);
            Assert.True(float.IsNaN(expected) ? float.IsNaN(actual) : BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual), $"0x{bits:X4}: {actual:R}, expected {expected:R}");
        }

        // The derivation: bits << 16 is the float32.
        Assert.Equal(0x80000000u, BitConverter.SingleToUInt32Bits(decode(0x8000)));
        Assert.Equal(MathF.Pow(2, -133), decode(0x0001));
        Assert.Equal(-127 * MathF.Pow(2, -133), decode(0x807F));
        Assert.Equal(3.3895314e38f, decode(0x7F7F));
        Assert.Equal(float.NegativeInfinity, decode(0xFF80));
    }

    [Fact]
    public void Bfloat16_rounding_equals_WeightQuantization_bit_for_bit()
    {
        var round = typeof(NanoLstmI1H8T5B1Bf16).GetMethod("ToBFloat16", BindingFlags.NonPublic | BindingFlags.Static)!.CreateDelegate<Func<float, ushort>>();
        var random = new Random(5);
        var values = new List<float>
        {
            0f, -0f, 1f, -2.5f, 1.00390625f, 1.01171875f, 1.0039064f, float.MaxValue, -float.MaxValue, 3.3895314e38f, 3.3961775e38f,
            float.PositiveInfinity, float.NegativeInfinity, float.NaN, float.Epsilon, -float.Epsilon, 1.1754942e-38f, 1.1754944e-38f,
            BitConverter.UInt32BitsToSingle(0x00008000), BitConverter.UInt32BitsToSingle(0x00018000), BitConverter.UInt32BitsToSingle(0x007F8000), BitConverter.UInt32BitsToSingle(0x007FFFFF),
            BitConverter.UInt32BitsToSingle(0x7FC12345), BitConverter.UInt32BitsToSingle(0xFFC00001),
        };
        for (int i = 0; i < 1_000_000; i++)
        {
            uint bits = (uint)random.NextInt64(0, 1L << 32);
            values.Add(BitConverter.UInt32BitsToSingle(bits));
            values.Add(BitConverter.UInt32BitsToSingle(bits & 0x807FFFFF)); // zero exponent: a subnormal
            values.Add(BitConverter.UInt32BitsToSingle((bits & 0xFFFF0000) | 0x8000)); // a tie
        }

        foreach (float value in values)
        {
            Assert.True(WeightQuantization.ToBFloat16(value) == round(value), $"{value:R} (0x{BitConverter.SingleToUInt32Bits(value):X8}): 0x{round(value):X4}, expected 0x{WeightQuantization.ToBFloat16(value):X4}");
        }
    }

    [Fact]
    public void Bfloat16_loading_rounds_as_WeightQuantization()
    {
        var random = new Random(8);
        var p = Enumerable.Range(0, NanoLstmWideHeadBf16.ParameterCount).Select(i => Enumerable.Range(0, NanoLstmWideHeadBf16.ParameterLength(i))
            .Select(_ => BitConverter.UInt32BitsToSingle((uint)random.NextInt64(0, 1L << 32) & 0xBFFFFFFF)).ToArray()).ToArray(); // finite, any magnitude
        p[0][0] = 1.00390625f;
        p[0][1] = float.PositiveInfinity;
        p[0][2] = float.Epsilon;
        var model = new NanoLstmWideHeadBf16(p);
        var bits = Field<ushort[][]>(model, "_w");
        var biases = Field<float[][]>(model, "_p");
        for (int i = 0; i < p.Length; i++)
        {
            if (NanoLstmWideHeadBf16.ParameterName(i).Contains("weight", StringComparison.Ordinal))
            {
                Assert.Equal(Array.ConvertAll(p[i], WeightQuantization.ToBFloat16), bits[i]);
                Assert.Null(biases[i]);
            }
            else
            {
                Assert.Null(bits[i]);
                Assert.Same(p[i], biases[i]);
            }
        }

        Assert.Equal(new ushort[] { 0x3F80, 0x7F80, 0x0000 }, bits[0].AsSpan(0, 3).ToArray());
    }

    [Fact]
    public void Int8_refuses_a_weight_that_is_not_finite_naming_the_tensor()
    {
        float[][] Parameters() => Enumerable.Range(0, NanoLstmWideHeadInt8.ParameterCount).Select(i => new float[NanoLstmWideHeadInt8.ParameterLength(i)]).ToArray();
        var p = Parameters();
        p[1][75] = float.NaN;
        var e = Assert.Throws<ArgumentException>(() => new NanoLstmWideHeadInt8(p));
        Assert.Contains("weight_hh_l0", e.Message, StringComparison.Ordinal);
        Assert.Contains("row 1", e.Message, StringComparison.Ordinal);
        Assert.Equal("parameters", e.ParamName);

        p = Parameters();
        p[4][3] = float.NegativeInfinity;
        Assert.Contains("head.weight", Assert.Throws<ArgumentException>(() => new NanoLstmWideHeadInt8(p)).Message, StringComparison.Ordinal);

        // Biases stay float32 and are not checked (as the float32 flavour); bfloat16 keeps infinities.
        p = Parameters();
        p[2][0] = float.NaN;
        _ = new NanoLstmWideHeadInt8(p);
        p[0][0] = float.PositiveInfinity;
        _ = new NanoLstmWideHeadBf16(p);
    }

    [Theory]
    [InlineData(WeightStorage.BFloat16)]
    [InlineData(WeightStorage.Int8)]
    public void Baked_weights_equal_the_float32_file_loaded_and_rounded(WeightStorage storage)
    {
        var c = ReferenceCase.Load("lstm_i1_h8_t5_b1");
        var bakedType = storage == WeightStorage.BFloat16 ? typeof(NanoLstmBakedBf16) : typeof(NanoLstmBakedInt8);
        var baked = new NanoModel(bakedType, bakedType.GetMethod("FromBakedWeights")!.Invoke(null, null)!);
        var loaded = new NanoModel(Twin("lstm_i1_h8_t5_b1", storage), c.ParameterNames.ToDictionary(n => n, c.File.ReadAsSingle));
        foreach (string field in storage == WeightStorage.Int8 ? new[] { "_w", "_scales", "_p" } : new[] { "_w", "_p" })
        {
            var expected = (Array[])loaded.Field(field);
            var actual = (Array[])baked.Field(field);
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.Equal(expected[i], actual[i]);
            }
        }

        var slots = new[] { 0 };
        for (int b = 0; b < c.Batch; b++)
        {
            var h0 = new[] { c.StateSlice(c.H0, 0, b) };
            var c0 = new[] { c.StateSlice(c.C0!, 0, b) };
            var expected = loaded.Execute(c.Sequence(b), h0, c0, stepwise: false);
            var actual = baked.Execute(c.Sequence(b), h0, c0, stepwise: false);
            Assert.Equal(expected.Output, actual.Output);
            Assert.Equal(expected.HN[0], actual.HN[0]);
            Assert.Equal(expected.CN![0], actual.CN![0]);
            Tolerance.AssertClose(c.ExpectedOutput(b), actual.Output, QuantisedWeightsTests.Bound(storage), $"baked {storage} against PyTorch");
        }
    }

    [Theory]
    [MemberData(nameof(TwinData))]
    public void Weight_matrices_are_kept_in_their_narrow_type_only(string stem, WeightStorage storage)
    {
        var type = Twin(stem, storage);
        var (_, parameters, _) = QuantisedWeightsTests.Scenarios(stem);
        var model = new NanoModel(type, parameters.ToDictionary(p => p.Key, p => p.Value.Values));
        var weights = (Array[])model.Field("_w");
        Assert.Equal(storage == WeightStorage.BFloat16 ? typeof(ushort[][]) : typeof(sbyte[][]), weights.GetType());
        Assert.Equal(storage == WeightStorage.Int8, type.GetField("_scales", BindingFlags.NonPublic | BindingFlags.Instance) is not null);

        // Every float array the model holds is a bias or a row of scales; the only instance fields are _w, _p (and _scales).
        var fields = type.GetFields(BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Instance).Select(f => f.Name).OrderBy(n => n, StringComparer.Ordinal);
        Assert.Equal(storage == WeightStorage.Int8 ? new[] { "_p", "_scales", "_w" } : new[] { "_p", "_w" }, fields);
        var biases = (float[][])model.Field("_p");
        var scales = storage == WeightStorage.Int8 ? (float[][])model.Field("_scales") : null;
        long f32 = 0, stored = 0;
        for (int i = 0; i < model.ParameterCount; i++)
        {
            var shape = parameters[model.ParameterName(i)].Shape;
            f32 += 4L * model.ParameterLength(i);
            if (shape.Length == 2)
            {
                Assert.Null(biases[i]);
                Assert.Equal(model.ParameterLength(i), weights[i].Length);
                Assert.Equal(shape[0], scales?[i].Length ?? shape[0]);
                stored += Buffer.ByteLength(weights[i]) + 4L * (scales?[i].Length ?? 0);
            }
            else
            {
                Assert.Null(weights[i]);
                stored += 4L * biases[i].Length;
            }
        }

        output.WriteLine($"{stem} {storage}: {stored:N0} bytes of parameters (float32: {f32:N0}, {(double)stored / f32:P1})");
    }

    [Fact]
    public void Step_and_run_allocate_nothing_after_construction()
    {
        var c = ReferenceCase.Load("lstm_i8_h16_t10_b2_l2");
        var p = c.ParameterNames.Select(n => c.File.ReadAsSingle(n)).ToArray();
        var int8 = new NanoLstmI8H16T10B2L2Int8(p);
        var bf16 = new NanoLstmI8H16T10B2L2Bf16(p);
        var s1 = new NanoLstmI8H16T10B2L2Int8.State();
        var s2 = new NanoLstmI8H16T10B2L2Bf16.State();
        var xs = c.Sequence(0);
        var ys = new float[c.Steps * 16];
        int8.Run(xs, s1, ys);
        bf16.Run(xs, s2, ys);
        Assert.Equal(0, Allocations.Settled(() =>
        {
            for (int i = 0; i < 10; i++)
            {
                int8.Run(xs, s1, ys);
                int8.Step(xs, 8, s1, ys, 16);
                bf16.Run(xs, s2, ys);
                bf16.Step(xs, 8, s2, ys, 16);
            }
        }));
    }

    private static T Field<T>(object model, string name) => (T)model.GetType().GetField(name, BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(model)!;

    // The desktop model's outcome on one scenario, through Run.
    private sealed class RunOutcome(float[] xs, float[][] h0, float[][]? c0) : IModelVisitor<ModelHarness.Outcome>
    {
        public ModelHarness.Outcome Visit<TState>(IRnnModel<TState> model)
            where TState : struct, IRnnState => ModelHarness.Run(model, xs, h0, c0);
    }

    /// <summary>
    /// A nano-flavour model through reflection: every nano class has the same members (a constructor on float[][] in
    /// state_dict order, a nested State with Hidden and, for LSTM, Cell, Run, and Step when unidirectional).
    /// </summary>
    private sealed class NanoModel
    {
        private readonly Type _type;
        private readonly Type _state;
        private readonly object _model;

        public NanoModel(Type type, object model)
        {
            _type = type;
            _state = type.GetNestedType("State")!;
            _model = model;
        }

        public NanoModel(Type type, IReadOnlyDictionary<string, float[]> parameters)
            : this(type, Create(type, parameters))
        {
        }

        public int ParameterCount => (int)_type.GetField("ParameterCount")!.GetValue(null)!;

        public string ParameterName(int i) => (string)_type.GetMethod("ParameterName")!.Invoke(null, [i])!;

        public int ParameterLength(int i) => (int)_type.GetMethod("ParameterLength")!.Invoke(null, [i])!;

        public bool CanStep => Step is not null;

        private MethodInfo? Step => _type.GetMethod("Step", [typeof(float[]), typeof(int), _state, typeof(float[]), typeof(int)]);

        public object Field(string name) => _type.GetField(name, BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(_model)!;

        private static object Create(Type type, IReadOnlyDictionary<string, float[]> parameters)
        {
            var names = new NanoModel(type, new object()).Names();
            try
            {
                return Activator.CreateInstance(type, [names.Select(n => parameters[n]).ToArray()])!;
            }
            catch (TargetInvocationException e)
            {
                ExceptionDispatchInfo.Throw(e.InnerException!);
                throw;
            }
        }

        private string[] Names() => Enumerable.Range(0, ParameterCount).Select(ParameterName).ToArray();

        // Sets a new state from h0/c0 per slot, runs (Run, or Step per time step) and returns the outputs and final state per slot.
        public ModelHarness.Outcome Execute(float[] xs, float[][] h0, float[][]? c0, bool stepwise)
        {
            int input = (int)_type.GetField("InputSize")!.GetValue(null)!;
            int hidden = (int)_type.GetField("HiddenSize")!.GetValue(null)!;
            int outputSize = (int)_type.GetField("OutputSize")!.GetValue(null)!;
            object state = Activator.CreateInstance(_state, [])!;
            var h = (float[])_state.GetProperty("Hidden")!.GetValue(state)!;
            var c = (float[]?)_state.GetProperty("Cell")?.GetValue(state);
            for (int s = 0; s < h0.Length; s++)
            {
                h0[s].CopyTo(h, s * hidden);
                c0?[s].CopyTo(c!, s * hidden);
            }

            int steps = xs.Length / input;
            var ys = new float[steps * outputSize];
            if (stepwise)
            {
                for (int t = 0; t < steps; t++)
                {
                    Step!.Invoke(_model, [xs, t * input, state, ys, t * outputSize]);
                }
            }
            else
            {
                _type.GetMethod("Run", [typeof(float[]), _state, typeof(float[])])!.Invoke(_model, [xs, state, ys]);
            }

            var hn = Enumerable.Range(0, h0.Length).Select(s => h.AsSpan(s * hidden, hidden).ToArray()).ToArray();
            var cn = c is null ? null : Enumerable.Range(0, h0.Length).Select(s => c.AsSpan(s * hidden, hidden).ToArray()).ToArray();
            return new ModelHarness.Outcome(ys, hn, cn);
        }
    }
}
