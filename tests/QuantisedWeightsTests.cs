using Embedded.Rnn.Safetensors;
using Embedded.Rnn.Tests.Models;
using Embedded.Rnn.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Embedded.Rnn.Tests;

/// <summary>
/// Models with bfloat16 and int8 weights (spec "precision"), on every path. First, that the kernels compute exactly the
/// model their stored weights describe: the float64 reference run on the weights rounded as the storage type rounds them
/// (rounding written out here, independently of the runtime's packing), at the usual 1e-5 bar, through Run, Step and the
/// multi-stream Step. Then how far rounding the weights moves the results from the float32 model's (PyTorch's).
/// </summary>
public sealed class QuantisedWeightsTests(ITestOutputHelper output)
{
    // Reference cases with quantised twins in tests/Models/QuantisedModels.cs, and derived models with a dense head.
    private static readonly string[] ReferenceStems = QuantisedModels.ReferenceStems;

    private static readonly string[] HeadModels = ["lstm_wide_head", "gru_bidir_head_sigmoid"];

    private static readonly WeightStorage[] Narrow = [WeightStorage.BFloat16, WeightStorage.Int8];

    public static TheoryData<string, WeightStorage, string> CasesStoragesAndPaths()
    {
        var data = new TheoryData<string, WeightStorage, string>();
        foreach (string model in ReferenceStems.Concat(HeadModels))
        {
            foreach (var storage in Narrow)
            {
                foreach (string path in new[] { "Default", nameof(KernelPath.Scalar), nameof(KernelPath.Vector128), nameof(KernelPath.Vector256), nameof(KernelPath.Vector512) })
                {
                    data.Add(model, storage, path);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CasesStoragesAndPaths))]
    public void Computes_the_model_its_stored_weights_describe(string model, WeightStorage storage, string path)
    {
        KernelPath? kernelPath = path == "Default" ? null : Enum.Parse<KernelPath>(path);
        var (spec, parameters, scenarios) = Scenarios(model);
        var rounded = parameters.ToDictionary(p => p.Key, p => IsWeight(p.Key) ? Round(p.Value.Values, p.Value.Shape, storage) : p.Value.Values);
        var file = File(parameters);
        var widened = rounded.ToDictionary(p => p.Key, p => Array.ConvertAll(p.Value, v => (double)v));
        double worst = 0;
        foreach (var (xs, h0, c0) in scenarios)
        {
            var expected = ReferenceRnn.Run(spec, widened, Array.ConvertAll(xs, v => (double)v), h0.Select(Tolerance.Wide).ToArray(), c0?.Select(Tolerance.Wide).ToArray());
            var outcomes = Accept(model, storage, file, kernelPath, new Outcomes(xs, h0, c0));
            Assert.Equal(storage, outcomes.Storage);
            foreach (var (how, got) in outcomes.Results)
            {
                worst = Math.Max(worst, Tolerance.AssertClose(expected.Output, got.Output, Tolerance.Forward, $"{model} {storage} {path} {how} output"));
                for (int s = 0; s < h0.Length; s++)
                {
                    worst = Math.Max(worst, Tolerance.AssertClose(expected.HN[s], got.HN[s], Tolerance.Forward, $"{model} {storage} {path} {how} h_n[{s}]"));
                    if (c0 is not null)
                    {
                        worst = Math.Max(worst, Tolerance.AssertClose(expected.CN[s], got.CN![s], Tolerance.Forward, $"{model} {storage} {path} {how} c_n[{s}]"));
                    }
                }
            }
        }

        output.WriteLine($"{model} {storage} on {path}: max scaled error {worst:E2} against the float64 reference on the rounded weights");
    }

    [Theory]
    [MemberData(nameof(CasesStoragesAndPaths))]
    public void Stays_near_the_float32_model(string model, WeightStorage storage, string path)
    {
        KernelPath? kernelPath = path == "Default" ? null : Enum.Parse<KernelPath>(path);
        var (spec, parameters, scenarios) = Scenarios(model);
        var exact = parameters.ToDictionary(p => p.Key, p => Array.ConvertAll(p.Value.Values, v => (double)v));
        var file = File(parameters);
        double worst = 0;
        foreach (var (xs, h0, c0) in scenarios)
        {
            var expected = ReferenceRnn.Run(spec, exact, Array.ConvertAll(xs, v => (double)v), h0.Select(Tolerance.Wide).ToArray(), c0?.Select(Tolerance.Wide).ToArray());
            var got = Accept(model, storage, file, kernelPath, new Outcomes(xs, h0, c0)).Results[0].Outcome;
            worst = Math.Max(worst, Tolerance.AssertClose(expected.Output, got.Output, Bound(storage), $"{model} {storage} {path} output"));
        }

        output.WriteLine($"{model} {storage} on {path}: max scaled deviation {worst:E2} from the float32 model (bound {Bound(storage):E1})");
    }

    public static TheoryData<string, WeightStorage> LongStreams() => new()
    {
        { "lstm_i1_h8_t5_b1", WeightStorage.BFloat16 },
        { "lstm_i1_h8_t5_b1", WeightStorage.Int8 },
        { "gru_i1_h8_t5_b1", WeightStorage.BFloat16 },
        { "gru_i1_h8_t5_b1", WeightStorage.Int8 },
    };

    // 10,000 steps of real data (weekly Mauna Loa CO2 changes, standardised) through the float32 and the quantised model
    // side by side: rounding must not accumulate, so the largest deviation over the last 1,000 steps stays within twice
    // that over the first 1,000 (and within the per-storage bound). The 2,283 changes are cycled, so the last window
    // revisits the first window's weeks: with the same inputs, any growth would be accumulated rounding.
    [Theory]
    [MemberData(nameof(LongStreams))]
    public void Deviation_does_not_grow_over_a_long_stream(string model, WeightStorage storage)
    {
        const int steps = 10_000, window = 1_000;
        var co2 = System.IO.File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "data", "co2.csv")).Skip(1)
            .Select(line => line.Split(',')[1]).Where(v => v.Length > 0).Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var changes = co2.Zip(co2.Skip(1), (a, b) => b - a).ToArray();
        double mean = changes.Average(), deviation = Math.Sqrt(changes.Average(c => (c - mean) * (c - mean)));
        var xs = Enumerable.Range(0, steps).Select(t => (float)((changes[t % changes.Length] - mean) / deviation)).ToArray();

        var reference = ReferenceCase.Load(model);
        var float32 = ReferenceModels.Accept(model, reference.ParameterFile(), null, new StreamOutputs(xs));
        var quantised = Accept(model, storage, reference.ParameterFile(), null, new StreamOutputs(xs));
        var worst = Enumerable.Range(0, steps).Select(t => Enumerable.Range(0, float32[t].Length).Max(i => Math.Abs(float32[t][i] - quantised[t][i]))).ToArray();
        double first = worst.Take(window).Max(), last = worst.Skip(steps - window).Max();
        output.WriteLine($"{model} {storage}: max |quantised - float32| over steps 1-1,000 {first:E2}, over 9,001-10,000 {last:E2}");
        Assert.True(last <= 2 * first, $"the deviation grew from {first:E2} to {last:E2}");
        Assert.True(worst.Max() <= Bound(storage), $"deviation {worst.Max():E2} above {Bound(storage):E1}");
    }

    // Every step's output of one stream, for a streaming model.
    private sealed class StreamOutputs(float[] xs) : IModelVisitor<float[][]>
    {
        public float[][] Visit<TState>(IRnnModel<TState> model)
            where TState : struct, IRnnState
        {
            var streaming = (IStreamingRnnModel<TState>)model;
            var state = default(TState);
            return xs.Select(x => { var y = new float[model.Shape.OutputSize]; streaming.Step([x], ref state, y); return y; }).ToArray();
        }
    }

    // A GRU whose n gate of unit 0 has recurrent weights of about 1e-35 beside b_hn = 1000: int8 stores that row with a
    // scale near 1e-37, and the packed form divides the bias by it (RecurrentPacking.PackInt8), which overflowed float32 to
    // an infinite W_hn h + b_hn. r of that unit is about 1e-3 (its input bias is -7), so r ⊙ (W_hn h + b_hn) is about 1, not
    // infinite: n would have been 1 where the model's is about tanh(1). Checked against the float64 reference on the
    // float32 weights, at the int8 bound, on every path and through Run, Step and the multi-stream forms.
    [Theory]
    [InlineData("Default")]
    [InlineData(nameof(KernelPath.Scalar))]
    [InlineData(nameof(KernelPath.Vector128))]
    [InlineData(nameof(KernelPath.Vector256))]
    [InlineData(nameof(KernelPath.Vector512))]
    public void An_int8_recurrent_row_far_below_its_bias_gives_the_model_not_an_overflow(string path)
    {
        KernelPath? kernelPath = path == "Default" ? null : Enum.Parse<KernelPath>(path);
        var (spec, parameters, scenarios) = TinyCandidateRow(1000f);
        parameters["bias_ih_l0"].Values[0] = -7f;
        var exact = parameters.ToDictionary(p => p.Key, p => Array.ConvertAll(p.Value.Values, v => (double)v));
        foreach (var (xs, h0, c0) in scenarios)
        {
            var expected = ReferenceRnn.Run(spec, exact, Array.ConvertAll(xs, v => (double)v), h0.Select(Tolerance.Wide).ToArray(), null);
            Assert.InRange(Math.Abs(expected.HN[0][0]), 0.05, 0.95); // the case is the one described: unit 0 not saturated
            var outcomes = Accept(TinyRowModel, WeightStorage.Int8, File(parameters), kernelPath, new Outcomes(xs, h0, c0));
            foreach (var (how, got) in outcomes.Results)
            {
                Tolerance.AssertClose(expected.Output, got.Output, Bound(WeightStorage.Int8), $"{path} {how} output");
                Tolerance.AssertClose(expected.HN[0], got.HN[0], Bound(WeightStorage.Int8), $"{path} {how} h_n");
            }
        }
    }

    // The same row beside an infinite b_hn, which FromParameters takes as it is: the step computes with the infinity as the
    // float32 model does (n = tanh(∞) = 1), not with a row scaled by it (0 · ∞ in the packed form, so NaN).
    [Theory]
    [InlineData(KernelPath.Scalar)]
    [InlineData(KernelPath.Vector512)]
    public void An_int8_recurrent_row_beside_an_infinite_bias_computes_as_the_float32_model(KernelPath path)
    {
        var (spec, parameters, scenarios) = TinyCandidateRow(float.PositiveInfinity);
        var exact = parameters.ToDictionary(p => p.Key, p => Array.ConvertAll(p.Value.Values, v => (double)v));
        var model = GruI1H8T5B1Int8.FromParameters(GruI1H8T5B1Int8.Parameters.Select(p => parameters[p.Name].Values).ToArray(), path);
        foreach (var (xs, h0, _) in scenarios)
        {
            var expected = ReferenceRnn.Run(spec, exact, Array.ConvertAll(xs, v => (double)v), h0.Select(Tolerance.Wide).ToArray(), null);
            var got = ModelHarness.Run(model, xs, h0, null);
            Assert.All(got.Output, y => Assert.True(float.IsFinite(y)));
            Tolerance.AssertClose(expected.Output, got.Output, Bound(WeightStorage.Int8), $"{path} output");
        }
    }

    private const string TinyRowModel = "gru_i1_h8_t5_b1";

    // TinyRowModel's case with the n gate's recurrent row of unit 0 (gate rows r, z, n: row 2H) at about 1e-35, beside
    // b_hn = bias.
    private static (ReferenceSpec Spec, Dictionary<string, (float[] Values, int[] Shape)> Parameters, List<(float[] Xs, float[][] H0, float[][]? C0)> Scenarios) TinyCandidateRow(float bias)
    {
        var (spec, parameters, scenarios) = Scenarios(TinyRowModel);
        int hidden = spec.HiddenSize, n = 2 * hidden;
        for (int k = 0; k < hidden; k++)
        {
            parameters["weight_hh_l0"].Values[n * hidden + k] = 1e-35f * MathF.Sin(k + 1);
        }

        parameters["bias_hh_l0"].Values[n] = bias;
        return (spec, parameters, scenarios);
    }

    // How far rounding the weights may move an output (scaled as Tolerance does). A bfloat16 weight is within 2^-9 of its
    // float32 (relative), an int8 weight within half its row's step (max |w| / 254), and a step's pre-activation error is
    // the sum of those times |x| over the columns, passed on by activations whose slope is at most 1. These models
    // measured at most 2.2e-3 (bf16) and 3.6e-3 (int8, rnn_relu_i8_h32 and gru_bidir_head_sigmoid); the bounds leave
    // about 4.5× and 5.5× of margin for other paths' rounding.
    internal static double Bound(WeightStorage storage) => storage == WeightStorage.BFloat16 ? 1e-2 : 2e-2;

    // The weight matrices are rounded; biases stay float32.
    internal static bool IsWeight(string name) => name.StartsWith("weight_", StringComparison.Ordinal) || name == "head.weight";

    /// <summary>
    /// Weights rounded as <paramref name="storage"/> stores them. bfloat16: the float32's upper 16 bits, rounded to
    /// nearest even. int8: per row, scale = max |w| / 127 and w ≈ scale · round-to-even(w / scale).
    /// </summary>
    internal static float[] Round(float[] values, int[] shape, WeightStorage storage)
    {
        if (storage == WeightStorage.BFloat16)
        {
            return Array.ConvertAll(values, v =>
            {
                uint bits = BitConverter.SingleToUInt32Bits(v);
                uint lower = bits & 0xFFFF, upper = bits >> 16;
                if (lower > 0x8000 || (lower == 0x8000 && (upper & 1) == 1))
                {
                    upper++;
                }

                return BitConverter.UInt32BitsToSingle(upper << 16);
            });
        }

        int columns = shape[1];
        var rounded = new float[values.Length];
        for (int row = 0; row < shape[0]; row++)
        {
            var weights = values.AsSpan(row * columns, columns);
            float largest = 0;
            foreach (float w in weights)
            {
                largest = Math.Max(largest, Math.Abs(w));
            }

            float scale = largest / 127;
            for (int j = 0; j < columns; j++)
            {
                rounded[row * columns + j] = scale == 0 ? 0 : scale * Math.Clamp(MathF.Round(weights[j] / scale, MidpointRounding.ToEven), -127, 127);
            }
        }

        return rounded;
    }

    internal static byte[] File(Dictionary<string, (float[] Values, int[] Shape)> parameters)
    {
        var writer = new SafetensorsWriter();
        foreach (var (name, (values, shape)) in parameters)
        {
            writer.Add(name, values, shape.Select(d => (long)d).ToArray());
        }

        return writer.ToArray();
    }

    // A reference case's parameters and batch elements, or a head model's random parameters and two random scenarios.
    internal static (ReferenceSpec Spec, Dictionary<string, (float[] Values, int[] Shape)> Parameters, List<(float[] Xs, float[][] H0, float[][]? C0)> Scenarios) Scenarios(string model)
    {
        var scenarios = new List<(float[], float[][], float[][]?)>();
        if (HeadModels.Contains(model))
        {
            var (spec, specs) = DerivedNumericsTests.Describe(model);
            var random = new Random(model.Length * 104729);
            var (_, values) = DerivedNumericsTests.RandomParameters(specs, random, 2f / MathF.Sqrt(spec.HiddenSize));
            var parameters = specs.ToDictionary(p => p.Name, p => (Array.ConvertAll(values[p.Name], v => (float)v), p.Shape.ToArray()));
            for (int n = 0; n < 2; n++)
            {
                var scenario = ReferenceRnn.RandomScenario(spec, values, 11, random);
                scenarios.Add((scenario.Inputs, scenario.H0, scenario.C0));
            }

            return (spec, parameters, scenarios);
        }

        var c = ReferenceCase.Load(model);
        var referenceSpec = new ReferenceSpec(c.Cell, c.InputSize, c.HiddenSize, c.Layers, c.Directions == 2, c.ParameterNames.Any(n => n.StartsWith("bias", StringComparison.Ordinal)));
        var slots = Enumerable.Range(0, c.Layers * c.Directions).ToArray();
        for (int b = 0; b < c.Batch; b++)
        {
            scenarios.Add((c.Sequence(b), slots.Select(s => c.StateSlice(c.H0, s, b)).ToArray(), c.C0 is null ? null : slots.Select(s => c.StateSlice(c.C0, s, b)).ToArray()));
        }

        return (referenceSpec, c.ParameterNames.ToDictionary(n => n, n => (c.File.ReadAsSingle(n), c.File.GetTensor(n).Shape.Select(d => (int)d).ToArray())), scenarios);
    }

    private static TResult Accept<TResult>(string model, WeightStorage storage, byte[] weights, KernelPath? path, IModelVisitor<TResult> visitor) =>
        QuantisedModels.Accept(model, storage, weights, path, visitor);

    // A model's outcomes for one scenario: Run, then for a streaming model Step, the multi-stream Step and the multi-stream
    // Run (9 copies of the scenario: two whole groups of 4 and a remainder on Vector512, four of 2 and a remainder elsewhere).
    private sealed class Outcomes(float[] xs, float[][] h0, float[][]? c0) : IModelVisitor<(WeightStorage Storage, List<(string How, ModelHarness.Outcome Outcome)> Results)>
    {
        public (WeightStorage, List<(string, ModelHarness.Outcome)>) Visit<TState>(IRnnModel<TState> model)
            where TState : struct, IRnnState
        {
            var results = new List<(string, ModelHarness.Outcome)> { ("Run", ModelHarness.Run(model, xs, h0, c0)) };
            if (model is IStreamingRnnModel<TState> streaming)
            {
                results.Add(("Step", ModelHarness.Stream(streaming, xs, h0, c0)));
                var many = ModelHarness.StreamMany(streaming, Enumerable.Repeat(xs, 9).ToArray(), Enumerable.Repeat(h0, 9).ToArray(), c0 is null ? null : Enumerable.Repeat(c0, 9).ToArray());
                results.AddRange(many.Select((outcome, s) => ($"multi-stream Step, stream {s}", outcome)));
                var sequences = ModelHarness.StreamMany(streaming, Enumerable.Repeat(xs, 9).ToArray(), Enumerable.Repeat(h0, 9).ToArray(), c0 is null ? null : Enumerable.Repeat(c0, 9).ToArray(), wholeSequences: true);
                results.AddRange(sequences.Select((outcome, s) => ($"multi-stream Run, sequence {s}", outcome)));
            }

            // The generated class says how it stores its weights.
            Assert.True(KernelLayout.TryParsePrecision((string?)model.GetType().GetField("Precision")!.GetValue(null), out var storage));
            return (storage, results);
        }
    }
}

/// <summary>The storage types' rounding, on values whose results are known, and the hot path of a quantised model.</summary>
public sealed class WeightQuantizationTests
{
    [Theory]
    [InlineData(1.0f, 0x3F80)]
    [InlineData(-2.5f, 0xC020)]
    [InlineData(1.00390625f, 0x3F80)] // 1 + 2^-8: halfway between 0x3F80 and 0x3F81, to the even one
    [InlineData(1.01171875f, 0x3F82)] // 1 + 3·2^-8: halfway between 0x3F81 and 0x3F82, to the even one
    [InlineData(1.0039064f, 0x3F81)] // 1 + 2^-8 + 2^-23, just above halfway: up
    [InlineData(float.MaxValue, 0x7F7F)] // rounds past the largest finite bfloat16: saturates
    [InlineData(float.PositiveInfinity, 0x7F80)]
    public void Bfloat16_rounds_to_nearest_even_and_saturates(float value, int bits)
    {
        Assert.Equal((ushort)bits, WeightQuantization.ToBFloat16(value));
        Assert.True(float.IsNaN(WeightQuantization.FromBFloat16(WeightQuantization.ToBFloat16(float.NaN))));
    }

    [Fact]
    public void Int8_scales_each_row_by_its_largest_magnitude_and_rounds_to_even()
    {
        float scale = WeightQuantization.RowScale([0.5f, -1.27f, 0.01f]);
        Assert.Equal(0.01f, scale, 7);
        Assert.Equal(-127, WeightQuantization.ToInt8(-1.27f, scale));
        Assert.Equal(2, WeightQuantization.ToInt8(0.025f, 0.01f)); // 2.5: to the even 2
        Assert.Equal(4, WeightQuantization.ToInt8(0.035f, 0.01f)); // 3.5: to the even 4
        Assert.Equal(127, WeightQuantization.ToInt8(5f, 0.01f)); // saturates
        Assert.Equal(1f, WeightQuantization.RowScale([0f, 0f]));
        Assert.Throws<ArgumentException>(() => WeightQuantization.RowScale([1f, float.NaN]));
    }

    [Fact]
    public void Int8_weights_must_be_finite()
    {
        var parameters = LstmI1H8T5B1Int8.Parameters.Select(p => new float[p.ElementCount]).ToArray();
        parameters[1][3] = float.PositiveInfinity;
        Assert.Throws<ArgumentException>(() => LstmI1H8T5B1Int8.FromParameters(parameters));
    }

    [Fact]
    public void A_non_finite_int8_weight_in_LoadParameters_names_its_tensor_and_leaves_the_weights_as_they_were()
    {
        var specs = LstmI8H16T10B2L2Int8.Parameters;
        var before = specs.Select(p => Enumerable.Range(0, p.ElementCount).Select(i => MathF.Sin(i + p.Name.Length) * 0.3f).ToArray()).ToArray();
        var model = LstmI8H16T10B2L2Int8.FromParameters(before);
        var xs = Enumerable.Range(0, 3 * 8).Select(i => MathF.Cos(i)).ToArray();
        var expected = RunFromZero(model, xs);

        // Every tensor changed, the second layer's last: the first layer packs before the NaN is met.
        var after = before.Select(t => Array.ConvertAll(t, v => v * -2f)).ToArray();
        int last = specs.Select(p => p.Name).ToList().IndexOf("weight_hh_l1");
        after[last][5] = float.NaN;
        var error = Assert.Throws<ArgumentException>(() => model.LoadParameters(after));
        Assert.Equal(expected, RunFromZero(model, xs));
        Assert.Contains("tensor 'weight_hh_l1' holds NaN at index 5", error.Message);
        Assert.Equal("parameters", error.ParamName);

        static float[] RunFromZero(LstmI8H16T10B2L2Int8 model, float[] xs)
        {
            var state = default(LstmI8H16T10B2L2Int8.State);
            var ys = new float[xs.Length / 8 * 16];
            model.Run(xs, ref state, ys);
            return ys;
        }
    }

    [Fact]
    public void Int8_rounding_in_place_refuses_a_non_finite_weight_by_name_before_it_rounds_anything()
    {
        var specs = LstmI8H16T10B2L2Int8.Parameters;
        var parameters = specs.Select(p => Enumerable.Range(0, p.ElementCount).Select(i => MathF.Sin(i) * 0.3f).ToArray()).ToArray();
        parameters[specs.Select(p => p.Name).ToList().IndexOf("weight_hh_l1")][7] = float.PositiveInfinity;
        var copy = parameters.Select(t => (float[])t.Clone()).ToArray();

        var error = Assert.Throws<ArgumentException>(() => WeightQuantization.Round(specs, parameters, WeightStorage.Int8, parameters));
        for (int k = 0; k < specs.Count; k++)
        {
            Assert.Equal(copy[k], parameters[k]);
        }

        Assert.Contains("tensor 'weight_hh_l1' holds +Infinity at index 7", error.Message);
        Assert.Equal("parameters", error.ParamName);
        error = Assert.Throws<ArgumentException>(() => WeightQuantization.StoredFile(specs, parameters, WeightStorage.Int8));
        Assert.Contains("tensor 'weight_hh_l1' holds +Infinity at index 7", error.Message);
    }

    [Fact]
    public void An_int8_row_too_small_for_a_float32_scale_computes_as_zeros_and_its_stored_file_loads()
    {
        var specs = LstmI1H8T5B1Int8.Parameters;
        var parameters = specs.Select(p => Enumerable.Range(0, p.ElementCount).Select(i => MathF.Sin(i + 1) * 0.5f).ToArray()).ToArray();
        int hh = specs.Select(p => p.Name).ToList().IndexOf("weight_hh_l0");
        var zeroed = parameters.Select(t => (float[])t.Clone()).ToArray();
        for (int j = 0; j < 8; j++)
        {
            parameters[hh][j] = j % 2 == 0 ? 1e-44f : -3e-45f; // row 0: subnormal weights, whose largest / 127 is 0 in float32
            zeroed[hh][j] = 0f;
        }

        var xs = Enumerable.Range(0, 4).Select(i => MathF.Cos(i)).ToArray();
        var expected = Run(LstmI1H8T5B1Int8.FromParameters(zeroed), xs);
        Assert.Equal(expected, Run(LstmI1H8T5B1Int8.FromParameters(parameters), xs));
        byte[] stored = WeightQuantization.StoredFile(specs, parameters, WeightStorage.Int8).ToArray();
        Assert.Equal(expected, Run(LstmI1H8T5B1Int8.FromSafetensors(stored), xs));

        static float[] Run(LstmI1H8T5B1Int8 model, float[] xs)
        {
            var state = default(LstmI1H8T5B1Int8.State);
            var ys = new float[xs.Length * 8];
            model.Run(xs, ref state, ys);
            return ys;
        }
    }

    [Theory]
    [InlineData(KernelPath.Vector512)]
    [InlineData(KernelPath.Scalar)]
    public void A_quantised_step_allocates_nothing(KernelPath path)
    {
        var parameters = LstmI8H32T20B2Int8.Parameters.Select(p => Enumerable.Range(0, p.ElementCount).Select(i => MathF.Sin(i) * 0.3f).ToArray()).ToArray();
        var int8 = LstmI8H32T20B2Int8.FromParameters(parameters, path);
        var bf16 = GruI6H16T9B2BidirBf16.FromParameters(GruI6H16T9B2BidirBf16.Parameters.Select(p => new float[p.ElementCount]).ToArray(), path);
        var x = new float[8];
        var y = new float[32];
        var xs = new float[5 * 6];
        var ys = new float[5 * 32];
        var states = new LstmI8H32T20B2Int8.State[9];
        var xsMany = new float[9 * 8];
        var ysMany = new float[9 * 32];
        var state = default(LstmI8H32T20B2Int8.State);
        var bidirectional = default(GruI6H16T9B2BidirBf16.State);
        int8.Step(x, ref state, y);
        int8.Step(xsMany, states, ysMany);
        bf16.Run(xs, ref bidirectional, ys);
        Assert.Equal(0, Allocations.Settled(() =>
        {
            for (int i = 0; i < 100; i++)
            {
                int8.Step(x, ref state, y);
                int8.Step(xsMany, states, ysMany);
                bf16.Run(xs, ref bidirectional, ys);
            }
        }));
        Assert.True(state.IsFinite());
    }
}

/// <summary>WeightQuantization.StoredFile: the weights as stored, which a quantised model loads without rounding again.</summary>
public sealed class StoredWeightFileTests
{
    private static readonly ReferenceCase Case = ReferenceCase.Load("lstm_i8_h32_t20_b2");

    private static float[][] Float32() => Case.ParameterNames.Select(Case.File.ReadAsSingle).ToArray();

    private static float[] RunOnce<TState>(IRnnModel<TState> model)
        where TState : struct, IRnnState
    {
        var state = default(TState);
        var ys = new float[Case.Steps * model.Shape.OutputSize];
        model.Run(Case.Sequence(0), ref state, ys);
        return ys;
    }

    [Fact]
    public void A_bf16_model_loads_its_stored_file_as_it_loads_float32_weights_from_half_the_bytes()
    {
        byte[] stored = WeightQuantization.StoredFile(LstmI8H32T20B2Bf16.Parameters, Float32(), WeightStorage.BFloat16).ToArray();
        byte[] float32 = Case.ParameterFile();
        Assert.Equal(RunOnce(LstmI8H32T20B2Bf16.FromSafetensors(float32)), RunOnce(LstmI8H32T20B2Bf16.FromSafetensors(stored)));
        Assert.True(stored.Length < 0.55 * float32.Length, $"{stored.Length} bytes against {float32.Length}");
    }

    [Fact]
    public void An_int8_model_loads_its_stored_file_as_it_loads_float32_weights_from_a_byte_per_weight()
    {
        byte[] stored = WeightQuantization.StoredFile(LstmI8H32T20B2Int8.Parameters, Float32(), WeightStorage.Int8).ToArray();
        byte[] float32 = Case.ParameterFile();
        var expected = RunOnce(LstmI8H32T20B2Int8.FromSafetensors(float32));
        var actual = RunOnce(LstmI8H32T20B2Int8.FromSafetensors(stored));
        // The same integers; a scale re-derived from its row may differ from the stored one in the last bit.
        Tolerance.AssertClose(Array.ConvertAll(expected, v => (double)v), actual, 1e-6, "int8 from its stored file");
        // One byte per weight, four per bias and per row scale, and the header (under 1 KiB here).
        int weights = LstmI8H32T20B2Int8.Parameters.Where(p => p.Shape.Count == 2).Sum(p => p.ElementCount);
        int floats = LstmI8H32T20B2Int8.Parameters.Where(p => p.Shape.Count == 1).Sum(p => p.ElementCount) + LstmI8H32T20B2Int8.Parameters.Where(p => p.Shape.Count == 2).Sum(p => p.Shape[0]);
        Assert.True(stored.Length < weights + 4 * floats + 1024, $"{stored.Length} bytes for {weights} weights and {floats} floats");
    }

    [Fact]
    public void Stored_files_are_refused_where_they_do_not_fit()
    {
        var parameters = Float32();
        byte[] int8 = WeightQuantization.StoredFile(LstmI8H32T20B2Int8.Parameters, parameters, WeightStorage.Int8).ToArray();
        byte[] bf16 = WeightQuantization.StoredFile(LstmI8H32T20B2Bf16.Parameters, parameters, WeightStorage.BFloat16).ToArray();

        var error = Assert.Throws<SafetensorsException>(() => LstmI8H32T20B2.FromSafetensors(int8));
        Assert.Contains("has dtype I8; expected F32", error.Message);
        error = Assert.Throws<SafetensorsException>(() => LstmI8H32T20B2Int8.FromSafetensors(bf16));
        Assert.Contains("has dtype BF16; expected F32 (or I8, as this model stores it)", error.Message);

        // An int8 row that does not reach ±127 (another tool's convention) would not load exactly: refused.
        var halved = new SafetensorsWriter();
        var file = SafetensorsFile.Parse(int8);
        foreach (var tensor in file.Tensors)
        {
            var values = file.ReadAsSingle(tensor.Name);
            if (tensor.DType == SafetensorsDType.I8)
            {
                halved.AddInt8(tensor.Name, Array.ConvertAll(values, v => (sbyte)(v / 2)), [.. tensor.Shape]);
            }
            else
            {
                halved.Add(tensor.Name, values, [.. tensor.Shape]);
            }
        }

        error = Assert.Throws<SafetensorsException>(() => LstmI8H32T20B2Int8.FromSafetensors(halved.ToArray()));
        Assert.Contains("row 0 of 'weight_ih_l0' has largest |q| 63", error.Message);

        var missingScales = new SafetensorsWriter();
        foreach (var tensor in file.Tensors.Where(t => !t.Name.EndsWith(WeightQuantization.ScaleSuffix, StringComparison.Ordinal)))
        {
            if (tensor.DType == SafetensorsDType.I8)
            {
                missingScales.AddInt8(tensor.Name, Array.ConvertAll(file.ReadAsSingle(tensor.Name), v => (sbyte)v), [.. tensor.Shape]);
            }
            else
            {
                missingScales.Add(tensor.Name, file.ReadAsSingle(tensor.Name), [.. tensor.Shape]);
            }
        }

        error = Assert.Throws<SafetensorsException>(() => LstmI8H32T20B2Int8.FromSafetensors(missingScales.ToArray()));
        Assert.Contains("'weight_ih_l0.scale' is missing", error.Message);
    }
}
