using Embedded.Rnn.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Embedded.Rnn.Tests;

/// <summary>
/// Every PyTorch reference case, on every kernel path: output, h_n and c_n from input, h0 and c0, batch
/// element by batch element, within 1e-5·max(1, |ref|). A null path is the default (widest accelerated)
/// path, which .ci/run narrows with DOTNET_EnableAVX512F=0, DOTNET_EnableAVX2=0 and DOTNET_EnableHWIntrinsic=0;
/// explicit paths run everywhere (emulated where the hardware lacks them).
/// </summary>
public sealed class ReferenceNumericsTests(ITestOutputHelper output)
{
    public static TheoryData<string, string> CasesAndPaths()
    {
        var data = new TheoryData<string, string>();
        foreach (string stem in ReferenceCase.Stems)
        {
            foreach (string path in new[] { "Default", nameof(KernelPath.Scalar), nameof(KernelPath.Vector128), nameof(KernelPath.Vector256), nameof(KernelPath.Vector512) })
            {
                data.Add(stem, path);
            }
        }

        return data;
    }

    [Fact]
    public void Every_reference_case_is_present()
    {
        // 15 from PyTorch (shared/refs) and 3 reset-before GRU cases from refs/make_gru_reset_before.py.
        Assert.Equal(15, ReferenceCase.Stems.Count(stem => !stem.StartsWith("gru_before_", StringComparison.Ordinal)));
        Assert.Equal(3, ReferenceCase.Stems.Count(stem => stem.StartsWith("gru_before_", StringComparison.Ordinal)));
    }

    [Theory]
    [MemberData(nameof(CasesAndPaths))]
    public void Matches_pytorch(string stem, string path)
    {
        var reference = ReferenceCase.Load(stem);
        KernelPath? kernelPath = path == "Default" ? null : Enum.Parse<KernelPath>(path);
        double worst = ReferenceModels.Accept(stem, reference.ParameterFile(), kernelPath, new Verifier(reference));
        output.WriteLine($"{stem} on {path} ({(kernelPath ?? KernelPaths.Best)}): max scaled error {worst:E2}");
    }

    [Fact]
    public void The_float64_reference_implementation_matches_pytorch()
    {
        foreach (string stem in ReferenceCase.Stems)
        {
            var c = ReferenceCase.Load(stem);
            var spec = new ReferenceSpec(c.Cell, c.InputSize, c.HiddenSize, c.Layers, c.Directions == 2, c.ParameterNames.Any(n => n.StartsWith("bias", StringComparison.Ordinal)));
            for (int b = 0; b < c.Batch; b++)
            {
                var slots = Enumerable.Range(0, c.Layers * c.Directions).ToArray();
                var result = ReferenceRnn.Run(spec, c.Parameters(), Array.ConvertAll(c.Sequence(b), v => (double)v),
                    slots.Select(s => Array.ConvertAll(c.StateSlice(c.H0, s, b), v => (double)v)).ToArray(),
                    c.C0 is null ? null : slots.Select(s => Array.ConvertAll(c.StateSlice(c.C0, s, b), v => (double)v)).ToArray());
                var expected = c.ExpectedOutput(b);
                for (int i = 0; i < expected.Length; i++)
                {
                    Assert.True(Math.Abs(result.Output[i] - expected[i]) < 1e-10, $"{stem}: output[{i}] {result.Output[i]} vs {expected[i]}");
                }

                foreach (int s in slots)
                {
                    var hn = c.StateSlice(c.HN, s, b);
                    Assert.True(hn.Zip(result.HN[s]).All(p => Math.Abs(p.First - p.Second) < 1e-10), $"{stem}: h_n slot {s}");
                }
            }
        }
    }

    private sealed class Verifier(ReferenceCase c) : IModelVisitor<double>
    {
        public double Visit<TState>(IRnnModel<TState> model)
            where TState : struct, IRnnState
        {
            Assert.Equal(c.InputSize, model.Shape.InputSize);
            Assert.Equal(c.OutputSize, model.Shape.OutputSize);
            var slots = Enumerable.Range(0, c.Layers * c.Directions).ToArray();
            // Every batch element through Run (and Step), then, for a streaming model, through the multi-stream Step.
            var outcomes = new List<(string At, int Element, ModelHarness.Outcome Outcome)>();
            for (int b = 0; b < c.Batch; b++)
            {
                var h0 = slots.Select(s => c.StateSlice(c.H0, s, b)).ToArray();
                var c0 = c.C0 is null ? null : slots.Select(s => c.StateSlice(c.C0, s, b)).ToArray();
                outcomes.Add(($"{c.Stem} Run batch {b}", b, ModelHarness.Run(model, c.Sequence(b), h0, c0)));
                if (model is IStreamingRnnModel<TState> streaming)
                {
                    outcomes.Add(($"{c.Stem} Step batch {b}", b, ModelHarness.Stream(streaming, c.Sequence(b), h0, c0)));
                }
            }

            if (model is IStreamingRnnModel<TState> many)
            {
                // Whole groups of streams and a remainder stepped alone, on every path: step by step, and as whole sequences.
                var streams = ModelHarness.StreamEveryElement(many, c);
                outcomes.AddRange(streams.Select((stream, s) => ($"{c.Stem} multi-stream Step, stream {s} of {streams.Length} (batch {stream.Element})", stream.Element, stream.Outcome)));
                var sequences = ModelHarness.StreamEveryElement(many, c, wholeSequences: true);
                outcomes.AddRange(sequences.Select((sequence, s) => ($"{c.Stem} multi-stream Run, sequence {s} of {sequences.Length} (batch {sequence.Element})", sequence.Element, sequence.Outcome)));
            }

            double worst = 0;
            foreach (var (at, b, outcome) in outcomes)
            {
                worst = Math.Max(worst, Tolerance.AssertClose(c.ExpectedOutput(b), outcome.Output, Tolerance.Forward, at + " output"));
                foreach (int s in slots)
                {
                    worst = Math.Max(worst, Tolerance.AssertClose(c.StateSlice(c.HN, s, b), outcome.HN[s], Tolerance.Forward, $"{at} h_n[{s}]"));
                    if (c.CN is not null)
                    {
                        worst = Math.Max(worst, Tolerance.AssertClose(c.StateSlice(c.CN, s, b), outcome.CN![s], Tolerance.Forward, $"{at} c_n[{s}]"));
                    }
                }
            }

            return worst;
        }
    }
}
