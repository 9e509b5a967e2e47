using System.CommandLine;

namespace Embedded.Rnn.Samples;

/// <summary>The options every sample takes: a fast mode for CI and where to write charts and models.</summary>
public sealed record SampleOptions(bool Fast, string OutputDirectory, int? Workers)
{
    /// <summary>
    /// Parses the sample's command line with System.CommandLine (so --help and bad arguments behave as users
    /// expect) and runs <paramref name="run"/>; returns the process exit code.
    /// </summary>
    public static int Run(string[] args, string description, Func<SampleOptions, int> run) =>
        Run(args, description, [], (options, _) => run(options));

    /// <summary>
    /// As <see cref="Run(string[], string, Func{SampleOptions, int})"/>, for a sample with one option of its own:
    /// <paramref name="sampleOption"/> is parsed (and its bad values refused) with the shared ones, and its value is
    /// passed to <paramref name="run"/>.
    /// </summary>
    public static int Run<T>(string[] args, string description, Option<T> sampleOption, Func<SampleOptions, T, int> run) =>
        Run(args, description, [sampleOption], (options, result) => run(options, result.GetValue(sampleOption)!));

    private static int Run(string[] args, string description, Option[] sampleOptions, Func<SampleOptions, ParseResult, int> run)
    {
        var fast = new Option<bool>("--fast") { Description = "Train briefly (for CI): fewer epochs, the same checks." };
        var output = new Option<string>("--out") { Description = "Folder for the chart and the trained weights.", DefaultValueFactory = _ => "out" };
        var workers = new Option<int?>("--workers") { Description = "Training threads (default: all cores; results do not depend on it)." };
        // Refused when parsed, as one line before the help: a file in --out's place, or no worker, failed mid-run with a stack trace.
        output.Validators.Add(result =>
        {
            if (File.Exists(result.GetValue(output)))
            {
                result.AddError($"--out {result.GetValue(output)} is a file; give a folder (it is made if missing).");
            }
        });
        workers.Validators.Add(result =>
        {
            if (result.GetValue(workers) is < 1)
            {
                result.AddError($"--workers must be at least 1, not {result.GetValue(workers)}.");
            }
        });
        var root = new RootCommand(description) { fast, output, workers };
        foreach (var option in sampleOptions)
        {
            root.Options.Add(option);
        }

        root.SetAction(result =>
        {
            var options = new SampleOptions(result.GetValue(fast), result.GetValue(output)!, result.GetValue(workers));
            Directory.CreateDirectory(options.OutputDirectory);
            return run(options, result);
        });
        return root.Parse(args).Invoke();
    }

    /// <summary>A path in the output folder.</summary>
    public string Output(string fileName) => Path.Combine(OutputDirectory, fileName);
}
