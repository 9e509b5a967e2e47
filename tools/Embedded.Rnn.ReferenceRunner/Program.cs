using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using Embedded.Rnn.Tests.Support;

namespace Embedded.Rnn.ReferenceRunner;

/// <summary>
/// Runs every PyTorch reference case in refs/ on the default kernel path and on the scalar path, checking
/// output, h_n and c_n per batch element (through Run, and Step and the multi-stream Step where the model streams) against
/// |got − ref| ≤ 1e-5·max(1, |ref|), as tests/ReferenceNumericsTests.cs does, without xunit.
/// On Arm64 the default path must be Vector128 on AdvSimd (NEON). Elsewhere it must be
/// <see cref="KernelPaths.Best"/>; EMBEDDED_RNN_EXPECTED_PATH (a <see cref="KernelPath"/> name) overrides
/// the expectation on any architecture, as in .ci/run. Prints one line per case and path, then
/// "N passed, N failed" (one count per case × path) as its last line; exits 1 on any failure.
/// --all-paths adds the forced Vector128, Vector256 and Vector512 paths (emulated where not accelerated).
/// A correctness check only: it measures no time, so an emulated run says nothing about Arm performance.
/// </summary>
internal static class Program
{
    private const double Bound = 1e-5;

    private static int Main(string[] args)
    {
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        if (args.Any(a => a is "-h" or "--help"))
        {
            Console.WriteLine("usage: Embedded.Rnn.ReferenceRunner [--all-paths] [case ...]");
            Console.WriteLine("  cases default to every *.safetensors in refs/; --all-paths also forces Vector128, Vector256 and Vector512");
            Console.WriteLine("  (paths the hardware lacks run emulated in software: slow, but they must still be correct)");
            return 0;
        }

        bool allPaths = args.Contains("--all-paths");
        args = args.Where(a => a != "--all-paths").ToArray();

        Console.WriteLine("Embedded.Rnn reference runner: correctness only; no timings are taken (under emulation they would mean nothing).");
        Console.WriteLine($"runtime: {RuntimeInformation.FrameworkDescription} {RuntimeInformation.RuntimeIdentifier}, process {RuntimeInformation.ProcessArchitecture}, {RuntimeInformation.OSDescription}");
        Console.WriteLine($"isa: AdvSimd={AdvSimd.IsSupported} AdvSimd.Arm64={AdvSimd.Arm64.IsSupported} Sse2={Sse2.IsSupported} Avx2={Avx2.IsSupported} Fma={Fma.IsSupported} Avx512F={Avx512F.IsSupported}; "
            + $"accelerated Vector128={Vector128.IsHardwareAccelerated} Vector256={Vector256.IsHardwareAccelerated} Vector512={Vector512.IsHardwareAccelerated}");

        var (expected, problem) = ExpectedDefaultPath();
        if (expected is null)
        {
            Console.WriteLine($"FAIL setup: {problem}");
            Console.WriteLine("0 passed, 1 failed");
            return 1;
        }

        Console.WriteLine($"default path: KernelPaths.Best={KernelPaths.Best}, expected {expected}{(problem is null ? string.Empty : $" -- FAIL: {problem}")}");

        string[] stems;
        try
        {
            stems = args.Length > 0 ? args : ReferenceCase.Stems.ToArray();
        }
        catch (IOException e)
        {
            Console.WriteLine($"FAIL setup: cannot list {ReferenceCase.Directory}: {e.Message}");
            Console.WriteLine("0 passed, 1 failed");
            return 1;
        }

        if (stems.Length == 0)
        {
            Console.WriteLine($"FAIL setup: no reference cases (*.safetensors) in {ReferenceCase.Directory}");
            Console.WriteLine("0 passed, 1 failed");
            return 1;
        }

        Console.WriteLine($"cases: {stems.Length} from {ReferenceCase.Directory}; bound |got - ref| <= 1e-5 * max(1, |ref|)");

        var paths = new (string Label, KernelPath? Force, KernelPath Expected)[]
        {
            ("default", null, expected.Value),
            ("Scalar", KernelPath.Scalar, KernelPath.Scalar),
        };
        if (allPaths)
        {
            paths = [.. paths, .. new[] { KernelPath.Vector128, KernelPath.Vector256, KernelPath.Vector512 }.Select(p => (p.ToString(), (KernelPath?)p, p))];
        }

        var worst = new double[paths.Length];
        int passed = 0, failed = 0;
        foreach (string stem in stems)
        {
            ReferenceCase? reference = null;
            byte[]? weights = null;
            string? loadError = null;
            try
            {
                reference = ReferenceCase.Load(stem);
                weights = reference.ParameterFile();
            }
            catch (Exception e)
            {
                loadError = $"cannot load the case: {e.GetType().Name}: {e.Message}";
            }

            for (int p = 0; p < paths.Length; p++)
            {
                var (label, force, expectedPath) = paths[p];
                string? failure = loadError;
                string ran = "?";
                double error = double.NaN;
                if (failure is null)
                {
                    try
                    {
                        var outcome = ReferenceModels.Accept(stem, weights!, force, new CaseCheck(reference!));
                        ran = outcome.Path.ToString();
                        error = outcome.Worst;
                        failure = outcome.Path != expectedPath ? $"ran on {outcome.Path}, expected {expectedPath}"
                            : force is null && problem is not null ? problem
                            : outcome.Violation;
                    }
                    catch (Exception e)
                    {
                        failure = $"{e.GetType().Name}: {e.Message}";
                    }
                }

                string where = force is null ? $"{label} ({ran})" : label;
                string line = $"{stem,-26} {where,-20} max scaled error {error:0.00E+00}";
                if (failure is null)
                {
                    passed++;
                    worst[p] = Math.Max(worst[p], error);
                    Console.WriteLine($"PASS {line}");
                }
                else
                {
                    failed++;
                    Console.WriteLine($"FAIL {line}: {failure}");
                }
            }
        }

        Console.WriteLine("max scaled error over passing cases: " + string.Join(", ", paths.Select((p, i) => $"{(p.Force is null ? $"default ({p.Expected})" : p.Label)} {worst[i]:0.00E+00}")));

        // The bf16 and int8 twins: each SIMD path against the scalar twin on the case's inputs (their numerics against
        // float64 are QuantisedWeightsTests'; this carries them to the paths of this machine, such as AdvSimd).
        foreach (string stem in stems.Intersect(Embedded.Rnn.Tests.Models.QuantisedModels.ReferenceStems))
        {
            foreach (var storage in new[] { WeightStorage.BFloat16, WeightStorage.Int8 })
            {
                // The case and the scalar twin's values once; then each other path against them.
                ReferenceCase? reference = null;
                byte[] weights = [];
                List<float> scalar = [];
                string? setupFailure = null;
                try
                {
                    reference = ReferenceCase.Load(stem);
                    weights = reference.ParameterFile();
                    scalar = Embedded.Rnn.Tests.Models.QuantisedModels.Accept(stem, storage, weights, KernelPath.Scalar, new Outputs(reference)).Values;
                }
                catch (Exception e)
                {
                    setupFailure = $"{e.GetType().Name}: {e.Message}";
                }

                foreach (var (label, force, expectedPath) in paths.Where(p => p.Force != KernelPath.Scalar))
                {
                    string? failure = setupFailure;
                    double difference = double.NaN;
                    if (failure is null)
                    {
                        try
                        {
                            var simd = Embedded.Rnn.Tests.Models.QuantisedModels.Accept(stem, storage, weights, force, new Outputs(reference!));
                            difference = scalar.Zip(simd.Values, (a, b) => Math.Abs(a - b) / Math.Max(1.0, Math.Abs(a))).Max();
                            failure = simd.Path != expectedPath ? $"ran on {simd.Path}, expected {expectedPath}"
                                : !(difference <= Bound) ? $"differs from the scalar twin by {difference:0.00E+00} (bound {Bound:0E+00})"
                                : null;
                        }
                        catch (Exception e)
                        {
                            failure = $"{e.GetType().Name}: {e.Message}";
                        }
                    }

                    string line = $"{stem + " " + storage,-36} {label,-10} vs Scalar, max scaled difference {difference:0.00E+00}";
                    Console.WriteLine(failure is null ? $"PASS {line}" : $"FAIL {line}: {failure}");
                    passed += failure is null ? 1 : 0;
                    failed += failure is null ? 0 : 1;
                }
            }
        }

        Console.WriteLine($"{passed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>The path a model built without a forced path must run, and why the machine fails the check, if it does.</summary>
    private static (KernelPath? Expected, string? Problem) ExpectedDefaultPath()
    {
        string? named = Environment.GetEnvironmentVariable("EMBEDDED_RNN_EXPECTED_PATH");
        if (!string.IsNullOrEmpty(named))
        {
            return Enum.TryParse(named, ignoreCase: false, out KernelPath path) && Enum.IsDefined(path)
                ? (path, null)
                : (null, $"EMBEDDED_RNN_EXPECTED_PATH={named} is not a KernelPath ({string.Join(", ", Enum.GetNames<KernelPath>())})");
        }

        if (RuntimeInformation.ProcessArchitecture != Architecture.Arm64)
        {
            return (KernelPaths.Best, null);
        }

        // Arm64: the widest accelerated path is Vector128, and it must be AdvSimd (NEON) that accelerates it.
        string? problem = !AdvSimd.IsSupported ? "Arm64 process but AdvSimd.IsSupported is false"
            : !Vector128.IsHardwareAccelerated ? "Arm64 process but Vector128 is not hardware accelerated"
            : KernelPaths.Best != KernelPath.Vector128 ? $"Arm64 process but KernelPaths.Best is {KernelPaths.Best}, not Vector128"
            : null;
        return (KernelPath.Vector128, problem);
    }

    private sealed record Outcome(KernelPath Path, double Worst, string? Violation);

    /// <summary>Every value a model gives for a case: each batch element's Run (and Step) outputs and final states.</summary>
    private sealed class Outputs(ReferenceCase c) : IModelVisitor<(KernelPath Path, List<float> Values)>
    {
        public (KernelPath, List<float>) Visit<TState>(IRnnModel<TState> model)
            where TState : struct, IRnnState
        {
            var slots = Enumerable.Range(0, c.Layers * c.Directions).ToArray();
            var values = new List<float>();
            for (int b = 0; b < c.Batch; b++)
            {
                var h0 = slots.Select(s => c.StateSlice(c.H0, s, b)).ToArray();
                var c0 = c.C0 is null ? null : slots.Select(s => c.StateSlice(c.C0, s, b)).ToArray();
                var outcomes = new List<ModelHarness.Outcome> { ModelHarness.Run(model, c.Sequence(b), h0, c0) };
                if (model is IStreamingRnnModel<TState> streaming)
                {
                    outcomes.Add(ModelHarness.Stream(streaming, c.Sequence(b), h0, c0));
                }

                foreach (var outcome in outcomes)
                {
                    values.AddRange(outcome.Output);
                    values.AddRange(outcome.HN.SelectMany(h => h));
                    values.AddRange(outcome.CN?.SelectMany(cn => cn) ?? []);
                }
            }

            return (model.Path, values);
        }
    }

    /// <summary>One case on one model: every batch element through Run (and Step), output, h_n and c_n.</summary>
    private sealed class CaseCheck(ReferenceCase c) : IModelVisitor<Outcome>
    {
        private double worst;
        private string? violation;

        public Outcome Visit<TState>(IRnnModel<TState> model)
            where TState : struct, IRnnState
        {
            if (model.Shape.InputSize != c.InputSize || model.Shape.OutputSize != c.OutputSize)
            {
                return new Outcome(model.Path, double.NaN, $"model shape {model.Shape} does not match the case (input {c.InputSize}, output {c.OutputSize})");
            }

            var slots = Enumerable.Range(0, c.Layers * c.Directions).ToArray();
            // Every batch element through Run (and Step), then, for a streaming model, through the multi-stream Step.
            var outcomes = new List<(string At, int Element, ModelHarness.Outcome Outcome)>();
            for (int b = 0; b < c.Batch; b++)
            {
                var h0 = slots.Select(s => c.StateSlice(c.H0, s, b)).ToArray();
                var c0 = c.C0 is null ? null : slots.Select(s => c.StateSlice(c.C0, s, b)).ToArray();
                outcomes.Add(($"Run batch {b}", b, ModelHarness.Run(model, c.Sequence(b), h0, c0)));
                if (model is IStreamingRnnModel<TState> streaming)
                {
                    outcomes.Add(($"Step batch {b}", b, ModelHarness.Stream(streaming, c.Sequence(b), h0, c0)));
                }
            }

            if (model is IStreamingRnnModel<TState> many)
            {
                // Whole groups of streams and a remainder stepped alone, on every path: step by step, and as whole sequences.
                var streams = ModelHarness.StreamEveryElement(many, c);
                outcomes.AddRange(streams.Select((stream, s) => ($"multi-stream Step stream {s} (batch {stream.Element})", stream.Element, stream.Outcome)));
                var sequences = ModelHarness.StreamEveryElement(many, c, wholeSequences: true);
                outcomes.AddRange(sequences.Select((sequence, s) => ($"multi-stream Run sequence {s} (batch {sequence.Element})", sequence.Element, sequence.Outcome)));
            }

            foreach (var (at, b, outcome) in outcomes)
            {
                Compare(c.ExpectedOutput(b), outcome.Output, $"{at} output");
                foreach (int s in slots)
                {
                    Compare(c.StateSlice(c.HN, s, b), outcome.HN[s], $"{at} h_n[{s}]");
                    if (c.CN is not null)
                    {
                        Compare(c.StateSlice(c.CN, s, b), outcome.CN?[s] ?? [], $"{at} c_n[{s}]");
                    }
                }
            }

            return new Outcome(model.Path, worst, violation);
        }

        private void Compare(double[] expected, float[] actual, string what)
        {
            if (expected.Length != actual.Length)
            {
                violation ??= $"{what}: {actual.Length} values, expected {expected.Length}";
                return;
            }

            for (int i = 0; i < expected.Length; i++)
            {
                double error = Math.Abs(actual[i] - expected[i]) / Math.Max(1.0, Math.Abs(expected[i]));
                if (!(error <= Bound))
                {
                    violation ??= $"{what}[{i}]: got {actual[i]:R}, expected {expected[i]:R} (scaled error {error:0.000E+00} > 1e-5)";
                }

                worst = Math.Max(worst, error); // NaN propagates
            }
        }
    }
}
