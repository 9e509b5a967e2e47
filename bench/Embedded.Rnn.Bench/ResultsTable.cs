using System.Globalization;
using System.Text;
using BenchmarkDotNet.Reports;

namespace Embedded.Rnn.Bench;

/// <summary>
/// Turns the run's summaries into the RESULTS table: ns per step for every competitor, the ratios, and the
/// two bounds from MachineLimits measured in the same run. Written to the results folder as ratios.md.
/// </summary>
public static class ResultsTable
{
    // Issue 4's Step targets (× faster than the scalar baseline), LSTM and GRU, by (input, hidden).
    private static readonly Dictionary<(int, int), double> ScalarTargets = new()
    {
        [(1, 8)] = 25, [(8, 32)] = 70, [(16, 64)] = 23, [(32, 128)] = 22,
    };

    private const double BoundTarget = 1.3;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string? Write(IEnumerable<Summary> summaries)
    {
        var list = summaries.ToList();
        var results = new Dictionary<(string Type, string Method), (double Ns, long? Bytes)>();
        foreach (var summary in list)
        {
            foreach (var report in summary.Reports)
            {
                if (report.ResultStatistics is null)
                {
                    continue;
                }

                var c = report.BenchmarkCase;
                results[(c.Descriptor.Type.Name, c.Descriptor.WorkloadMethod.Name)] =
                    (report.ResultStatistics.Median, report.GcStats.GetBytesAllocatedPerOperation(c));
            }
        }

        if (results.Count == 0)
        {
            return null;
        }

        var md = new StringBuilder();
        var first = list.First();
        md.AppendLine("```");
        foreach (var line in first.HostEnvironmentInfo.ToFormattedString())
        {
            md.AppendLine(line);
        }

        md.AppendLine("```");
        md.AppendLine();

        double? Mean(string type, string method) => results.TryGetValue((type, method), out var r) ? r.Ns : null;
        double? fma = Mean(nameof(MachineLimits), nameof(MachineLimits.PeakFma));
        double? l1 = Mean(nameof(MachineLimits), nameof(MachineLimits.L1Read));
        double? l2 = Mean(nameof(MachineLimits), nameof(MachineLimits.L2Read));
        double? l1m = Mean(nameof(MachineLimits), nameof(MachineLimits.L1ReadMisaligned8));
        double? l2m = Mean(nameof(MachineLimits), nameof(MachineLimits.L2ReadMisaligned8));
        double? peakGflops = fma is null ? null : 16 / fma.Value;
        double? l1GBs = l1 is null ? null : 32 / l1.Value;
        double? l2GBs = l2 is null ? null : 32 / l2.Value;
        var (l1Size, l2Size) = CacheSizes();
        md.AppendLine("Machine limits (MachineLimits, this run):");
        md.AppendLine();
        md.AppendLine(Inv, $"- peak fp32 FMA: {F(fma, 4)} ns per 256-bit FMA = **{F(peakGflops, 1)} GFLOP/s** (one core, 12 independent Vector256 chains)");
        md.AppendLine(Inv, $"- L1d read ({l1Size / 1024} KiB per core; 16 KiB buffer): {F(l1, 4)} ns per 32-byte load = **{F(l1GBs, 1)} GB/s**; from an 8-byte-misaligned address {F(l1m is null ? null : 32 / l1m.Value, 1)} GB/s");
        md.AppendLine(Inv, $"- L2 read ({l2Size / 1024} KiB per core; 256 KiB buffer): {F(l2, 4)} ns per 32-byte load = **{F(l2GBs, 1)} GB/s**; misaligned {F(l2m is null ? null : 32 / l2m.Value, 1)} GB/s");
        md.AppendLine();
        md.AppendLine("Compute bound = 2·G·H·(I+H) FLOPs (the mat-vecs; activations not counted) / peak. Weight bound = bytes of the packed");
        md.AppendLine("weight stream the Vector256 kernel reads per step / the L1 read bandwidth (L2 once the stream outgrows L1d). Bound = the larger.");
        md.AppendLine();

        var verdicts = new List<string>();
        foreach (string mode in new[] { "Step", "Sequence" })
        {
            md.AppendLine(Inv, $"### {mode}{(mode == "Sequence" ? " (Run over T = 100, per step)" : " (one streaming step, state carried)")}");
            md.AppendLine();
            md.AppendLine("| cell | I, H | ours ns | scalar ns | TensorPrimitives ns | ONNX Runtime ns | ours alloc | ×ORT | ×scalar | ×TP | compute bound ns | weight bound ns | ours / bound |");
            md.AppendLine("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
            foreach (string cell in Assets.Cells)
            {
                foreach (var (input, hidden) in Assets.Sizes)
                {
                    string type = $"{char.ToUpperInvariant(cell[0])}{cell[1..]}_I{input}_H{hidden}";
                    if (!results.TryGetValue((type, "Ours_" + mode), out var ours))
                    {
                        continue;
                    }

                    double? scalar = Mean(type, "Scalar_" + mode);
                    double? tensor = Mean(type, "TensorPrimitives_" + mode);
                    double? onnx = Mean(type, "OnnxRuntime_" + mode);
                    int gates = Assets.Gates(cell);
                    double flops = 2.0 * gates * hidden * (input + hidden);
                    double? compute = peakGflops is null ? null : flops / peakGflops.Value;
                    long bytes = PackedBytes(cell, input, hidden);
                    bool inL1 = bytes <= l1Size;
                    double? bandwidth = inL1 ? l1GBs : l2GBs;
                    double? stream = bandwidth is null ? null : bytes / bandwidth.Value;
                    double? bound = compute is null || stream is null ? null : Math.Max(compute.Value, stream.Value);
                    double? ofBound = bound is null ? null : ours.Ns / bound.Value;
                    md.AppendLine(Inv,
                        $"| {cell} | {input}, {hidden} | **{F(ours.Ns, 1)}** | {F(scalar, 1)} | {F(tensor, 1)} | {F(onnx, 1)} | {(ours.Bytes is null ? "?" : ours.Bytes + " B")} | {X(onnx, ours.Ns)} | {X(scalar, ours.Ns)} | {X(tensor, ours.Ns)} | {F(compute, 1)} | {F(stream, 1)} ({(inL1 ? "L1" : "L2")}, {bytes / 1024.0:F1} KiB) | {F(ofBound, 2)} |");

                    if (mode != "Step")
                    {
                        continue;
                    }

                    if (cell != "rnn" && scalar is not null)
                    {
                        double target = ScalarTargets[(input, hidden)];
                        double got = scalar.Value / ours.Ns;
                        verdicts.Add($"- {cell} ({input}, {hidden}) Step ≥ {target:F0}× scalar: **{(got >= target ? "met" : "NOT met")}** ({got:F1}×)");
                    }

                    if (hidden >= 32 && cell != "rnn" && ofBound is not null)
                    {
                        verdicts.Add($"- {cell} ({input}, {hidden}) Step within {BoundTarget}× of max(compute, weight-streaming) bound: **{(ofBound <= BoundTarget ? "met" : "NOT met")}** ({ofBound:F2}× the {(compute >= stream ? "compute" : "weight-streaming")} bound, {bound:F1} ns)");
                    }

                    if (ours.Bytes is not null)
                    {
                        verdicts.Add($"- {cell} ({input}, {hidden}) Step 0 B allocated: **{(ours.Bytes == 0 ? "met" : "NOT met")}** ({ours.Bytes} B)");
                    }
                }
            }

            md.AppendLine();
        }

        md.AppendLine("Targets (issue 4, Step, same run):");
        md.AppendLine();
        foreach (var v in verdicts)
        {
            md.AppendLine(v);
        }

        string text = md.ToString();
        string path = Path.Combine(first.ResultsDirectoryPath, "ratios.md");
        Directory.CreateDirectory(first.ResultsDirectoryPath);
        File.WriteAllText(path, text);
        Console.WriteLine();
        Console.WriteLine(text);
        Console.WriteLine($"// ratios written to {path}");
        return path;
    }

    /// <summary>
    /// Bytes the Vector256 kernel streams per step: the packed layout of runtime/RecurrentPacking.cs, i.e. per
    /// vector of 8 units one bias vector per slot (accumulator), then one weight vector per input column and
    /// input slot and per recurrent column and recurrent slot (LSTM 4 slots; GRU 4 slots, 3 reading x, 3 reading h).
    /// </summary>
    public static long PackedBytes(string cell, int input, int hidden)
    {
        (int slots, int inputSlots, int recurrentSlots) = cell switch
        {
            "lstm" => (4, 4, 4),
            "gru" => (4, 3, 3),
            _ => (1, 1, 1),
        };
        long units = (hidden + 7) / 8 * 8;
        return 4L * units * (slots + input * inputSlots + hidden * recurrentSlots);
    }

    /// <summary>L1d and L2 sizes of cpu0 from sysfs (32 KiB / 512 KiB if unreadable).</summary>
    public static (long L1, long L2) CacheSizes()
    {
        long l1 = 32 * 1024, l2 = 512 * 1024;
        try
        {
            foreach (var dir in Directory.GetDirectories("/sys/devices/system/cpu/cpu0/cache", "index*"))
            {
                string level = File.ReadAllText(Path.Combine(dir, "level")).Trim();
                string type = File.ReadAllText(Path.Combine(dir, "type")).Trim();
                string size = File.ReadAllText(Path.Combine(dir, "size")).Trim();
                long bytes = size.EndsWith('K') ? long.Parse(size[..^1], Inv) * 1024 : size.EndsWith('M') ? long.Parse(size[..^1], Inv) * 1024 * 1024 : long.Parse(size, Inv);
                if (level == "1" && type == "Data")
                {
                    l1 = bytes;
                }
                else if (level == "2")
                {
                    l2 = bytes;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return (l1, l2);
    }

    private static string F(double? v, int digits) => v is null ? "n/a" : v.Value.ToString("N" + digits.ToString(Inv), Inv);

    private static string X(double? competitor, double ours) => competitor is null ? "n/a" : (competitor.Value / ours).ToString("F1", Inv) + "×";
}
