using System.CommandLine;

namespace Embedded.Rnn.Samples;

/// <summary>
/// The --precision option of the samples that also run their trained float32 weights stored narrower: its values are
/// the spec's "precision" names.
/// </summary>
public static class PrecisionOption
{
    private static readonly WeightStorage[] Storages = [WeightStorage.Float32, WeightStorage.BFloat16, WeightStorage.Int8];

    /// <summary>A new --precision option (default f32); other values are refused with the ones accepted. Its value is a
    /// name (so --help shows the default as one): <see cref="StorageOf"/> turns it into the storage type.</summary>
    public static Option<string> Create()
    {
        var option = new Option<string>("--precision")
        {
            Description = "Weight storage to compare with float32 after training: f32 (float32 only), bf16 (also bfloat16), "
                + "int8 (also int8: the float32 weights rounded after training, and a second, quantisation-aware training run).",
            DefaultValueFactory = _ => KernelLayout.PrecisionName(WeightStorage.Float32),
        };
        option.AcceptOnlyFromAmong([.. Storages.Select(KernelLayout.PrecisionName)]);
        return option;
    }

    /// <summary>The storage type a --precision value names (the option accepts only those).</summary>
    public static WeightStorage StorageOf(string name) =>
        KernelLayout.TryParsePrecision(name, out var storage) ? storage : throw new ArgumentException($"'{name}' names no precision.", nameof(name));
}

/// <summary>A test measure compared across weight storages: which way is better, and how values and differences read.</summary>
/// <param name="Name">What is measured, as a sentence names it ("mean RMSE", "test accuracy", "bpc of the GRU").</param>
/// <param name="HigherIsBetter">True for accuracy, false for errors and losses.</param>
/// <param name="Value">Writes a value with its unit.</param>
/// <param name="Difference">Writes a signed difference of two values with its unit.</param>
public sealed record StorageMetric(string Name, bool HigherIsBetter, Func<double, string> Value, Func<double, string> Difference);

/// <summary>How far a narrower storage may fall behind float32 on a metric: a share of float32's value, or a fixed amount.</summary>
/// <param name="Amount">The share (0.01 for 1 %) or the amount, in the metric's unit.</param>
/// <param name="Relative">Whether <paramref name="Amount"/> is a share of float32's value.</param>
/// <param name="Description">The bar as a sentence says it ("1 %", "1 accuracy point").</param>
public sealed record StorageBar(double Amount, bool Relative, string Description)
{
    /// <summary>Within <paramref name="percent"/> % of float32's value.</summary>
    public static StorageBar Percent(double percent) => new(percent / 100, true, FormattableString.Invariant($"{percent} %"));

    /// <summary>Within a fixed <paramref name="amount"/> of float32's value, described as <paramref name="description"/>.</summary>
    public static StorageBar Absolute(double amount, string description) => new(amount, false, description);

    /// <summary>How far behind <paramref name="reference"/> (float32's value) a narrower storage may be.</summary>
    public double Allowance(double reference) => Relative ? Amount * Math.Abs(reference) : Amount;
}

/// <summary>
/// The issue's bars for narrower weights, checked on one metric against float32 and printed one line each: bf16 within its
/// bar; int8 rounded after training within its bar; quantisation-aware training (QAT) recovering at least half of int8's
/// gap. QAT's bar is reported only: its model comes from a second training run, which varies by more than the gap.
/// </summary>
public static class StorageBars
{
    /// <summary>Checks bf16's bar; returns the failure message when missed, else null.</summary>
    public static string? CheckBFloat16(StorageMetric metric, double float32, double bf16, StorageBar bar) =>
        Check(metric, "bf16", float32, bf16, bar);

    /// <summary>Checks int8's bar for the weights rounded after training (returns the failure message when missed, else
    /// null) and reports whether the QAT model recovers at least half of the gap.</summary>
    public static string? CheckInt8(StorageMetric metric, double float32, double roundedAfterTraining, double withQat, StorageBar bar)
    {
        var missed = Check(metric, "int8 after training", float32, roundedAfterTraining, bar);
        double gap = Behind(metric, roundedAfterTraining, float32);
        string qatBar = $"bar (reported only): QAT recovers at least half of the int8 gap in {metric.Name}";
        string aware = $"QAT int8 {Change(metric, withQat, float32)}";
        Console.WriteLine(gap > 0
            ? $"{qatBar} ({metric.Difference(roundedAfterTraining - float32)}): {Verdict(Behind(metric, withQat, float32) <= gap / 2)} ({aware})"
            : $"{qatBar}: no gap to recover, int8 after training is not worse than float32 ({aware})");
        return missed;
    }

    /// <summary>What the quantisation-aware training run is; print it before that run.</summary>
    public static void AnnounceQat() =>
        Console.WriteLine("Quantisation-aware training for int8: the same initial weights and options, the passes run on the weights rounded to int8 "
            + "(the float32 master weights take the updates)");

    /// <summary>Why QAT's bar is reported only; print it once after the int8 bars.</summary>
    public static void ExplainQat() =>
        Console.WriteLine("note: the QAT model comes from a second training run (same initial weights, data order and options), so its difference "
            + "from float32 includes run-to-run variation as well as the rounding");

    private static string? Check(StorageMetric metric, string storage, double float32, double value, StorageBar bar)
    {
        bool met = Behind(metric, value, float32) <= bar.Allowance(float32);
        Console.WriteLine($"bar: {storage} {metric.Name} within {bar.Description} of float32: {Verdict(met)} ({Change(metric, value, float32)})");
        return met ? null : $"{storage}'s {metric.Name} {metric.Value(value)} is more than {bar.Description} "
            + $"{(metric.HigherIsBetter ? "below" : "above")} float32's {metric.Value(float32)}";
    }

    // How much worse than float32 a value is, in the metric's unit (negative when better).
    private static double Behind(StorageMetric metric, double value, double float32) => metric.HigherIsBetter ? float32 - value : value - float32;

    private static string Change(StorageMetric metric, double value, double float32) =>
        $"{metric.Difference(value - float32)}, {100 * (value - float32) / float32:+0.00;-0.00;0.00} %";

    private static string Verdict(bool met) => met ? "met" : "NOT met";
}
