using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using Embedded.Rnn.Safetensors;
using Embedded.Rnn.Training;

namespace Embedded.Rnn.Tool;

/// <summary>The command tree (inspect, import, train, export) and what every command shares.</summary>
public static class ToolCommands
{
    /// <summary>Exit code of a check that ran and failed (the golden run).</summary>
    public const int CheckFailed = 1;

    /// <summary>Exit code of bad input: a missing or malformed file, an invalid spec, arguments that do not fit.</summary>
    public const int BadInput = 2;

    /// <summary>
    /// Exit code of an error the tool does not expect (a bug, or the machine running out of memory), kept apart from a
    /// failed check: scripts that read 1 as "the golden check failed" must not take a crash for it.
    /// </summary>
    public const int UnexpectedError = 3;

    /// <summary>Exit code after Ctrl-C (SIGINT) or SIGTERM: 128 + SIGINT, what shells report for an interrupted command.</summary>
    public const int Interrupted = 130;

    // How long an interrupted command may take to stop cleanly (train saves its checkpoint) before the process exits anyway.
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The root command with every subcommand.</summary>
    public static RootCommand Build() => new(
        "Works with Embedded.Rnn models: inspect PyTorch weights, import them into a spec + weights pair (checked by a golden run), " +
        "train a model from a CSV file, export weights for PyTorch. Specs are compiled with the same generator your build uses.")
    {
        InspectCommand.Create(),
        ImportCommand.Create(),
        TrainCommand.Create(),
        ExportCommand.Create(),
    };

    /// <summary>
    /// Parses and runs a command line (what <c>embedded-rnn</c> does). Wrong arguments print their errors alone, one line
    /// each, not the whole help page under them (--help shows it), and exit with 1.
    /// </summary>
    public static int Run(string[] args, InvocationConfiguration? configuration = null)
    {
        var result = Build().Parse(args);
        if (result.Action is ParseErrorAction usageError)
        {
            usageError.ShowHelp = false;
        }

        return result.Invoke(configuration ?? new InvocationConfiguration { ProcessTerminationTimeout = StopTimeout });
    }

    /// <summary>Sets the command's action, turning the user's errors (files, specs, CSV, tensors) into one clear line and exit code 2.</summary>
    public static void SetGuardedAction(this Command command, Func<ParseResult, TextWriter, int> action) =>
        command.SetGuardedAction((result, output, _) => action(result, output));

    /// <summary>
    /// Sets an action that can be interrupted: the token is cancelled on Ctrl-C or SIGTERM, and the action has
    /// <see cref="StopTimeout"/> to stop cleanly. Errors become one line and exit code 2, as for any command.
    /// </summary>
    public static void SetGuardedAction(this Command command, Func<ParseResult, TextWriter, CancellationToken, int> action) =>
        command.SetAction((result, cancellation) =>
        {
            var error = result.InvocationConfiguration.Error;
            try
            {
                return Task.FromResult(action(result, result.InvocationConfiguration.Output, cancellation));
            }
            catch (Exception e) when (e is ToolException or SafetensorsException or CsvFormatException or IOException or UnauthorizedAccessException
                or ArgumentException)
            {
                error.WriteLine($"embedded-rnn {command.Name}: error: {e.Message}");
                return Task.FromResult(BadInput);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The whole exception, stack trace included: what a bug report needs.
                error.WriteLine($"embedded-rnn {command.Name}: unexpected error, please report it with what follows: {e}");
                return Task.FromResult(UnexpectedError);
            }
        });

    /// <summary>
    /// An input file argument that must exist and be a file: a missing file and a directory are each named in a one-line
    /// error (a directory would otherwise fail later as "Access to the path is denied").
    /// </summary>
    /// <param name="name">The argument's name.</param>
    /// <param name="description">Its help text.</param>
    /// <param name="kind">What the file is, for the error about a directory: "a safetensors file".</param>
    public static Argument<FileInfo> ExistingFile(string name, string description, string kind = "a file")
    {
        var argument = new Argument<FileInfo>(name) { Description = description };
        argument.Validators.Add(result => AddFileProblem(result, kind));
        return argument;
    }

    /// <summary>A file option that must exist, and be a file, when given.</summary>
    public static Option<FileInfo> ExistingFileOption(string name, string description, bool required = false, string kind = "a file")
    {
        var option = new Option<FileInfo>(name) { Description = description, Required = required };
        option.Validators.Add(result => AddFileProblem(result, kind));
        return option;
    }

    private static void AddFileProblem(SymbolResult result, string kind)
    {
        foreach (var token in result.Tokens)
        {
            if (Directory.Exists(token.Value))
            {
                result.AddError($"{token.Value} is a directory, not {kind}.");
            }
            else if (!File.Exists(token.Value))
            {
                result.AddError($"File does not exist: '{token.Value}'.");
            }
        }
    }

    /// <summary>A string option restricted to the given values (listed in help and in the error).</summary>
    public static Option<string> Choice(string name, string description, string? defaultValue, params string[] values)
    {
        var option = new Option<string>(name) { Description = description };
        if (defaultValue is not null)
        {
            option.DefaultValueFactory = _ => defaultValue;
        }

        option.AcceptOnlyFromAmong(values);
        return option;
    }

    /// <summary>Adds a validator that the option's value is at least <paramref name="minimum"/>.</summary>
    public static Option<T> AtLeast<T>(this Option<T> option, T minimum)
        where T : struct, IComparable<T> =>
        option.Check(value => value.CompareTo(minimum) < 0 ? $"{option.Name} must be at least {minimum} (got {value})." : null);

    /// <summary>
    /// Adds a check of the option's value: <paramref name="problem"/> returns the error to report, or null. A value that
    /// does not parse at all ("--window two") is left to System.CommandLine's own one-line error; reading it here
    /// would throw.
    /// </summary>
    public static Option<T> Check<T>(this Option<T> option, Func<T, string?> problem)
    {
        option.Validators.Add(result =>
        {
            T value;
            try
            {
                value = result.GetValueOrDefault<T>()!;
            }
            catch (InvalidOperationException)
            {
                return; // the conversion error is reported by the parser
            }

            if (problem(value) is string error)
            {
                result.AddError(error);
            }
        });
        return option;
    }

    /// <summary>Reads a safetensors file, naming it in any error.</summary>
    public static SafetensorsFile ReadSafetensors(FileInfo file)
    {
        try
        {
            return SafetensorsFile.Read(file.FullName);
        }
        catch (SafetensorsException e)
        {
            throw new ToolException($"{file.Name}: {e.Message}");
        }
    }

    /// <summary>
    /// Checks, before any work, that each output is its own file and none is an input: the weights written over the
    /// checkpoint would leave nothing to resume, a checkpoint's rename over the log would drop every line, and an output
    /// over the data would lose it. An output's temporary file (<c>path.tmp</c>, <see cref="DurableFile"/>) counts as
    /// the output: it is replaced on the way.
    /// </summary>
    /// <param name="outputs">Each file written, by the option that names it.</param>
    /// <param name="inputs">Each file read, by how the user gave it.</param>
    public static void CheckOutputsDistinct(IReadOnlyList<(string Option, string Path)> outputs, IReadOnlyList<(string Name, string Path)> inputs)
    {
        for (int i = 0; i < outputs.Count; i++)
        {
            string path = Path.GetFullPath(outputs[i].Path);
            for (int k = 0; k < i; k++)
            {
                string other = Path.GetFullPath(outputs[k].Path);
                if (DurableFile.Replaces(path, other) || DurableFile.Replaces(other, path))
                {
                    throw new ToolException($"{outputs[k].Option} and {outputs[i].Option} are the same file, or one is the other's temporary ({other}, {path}); give each its own.");
                }
            }

            foreach (var (name, input) in inputs)
            {
                if (DurableFile.Replaces(path, input))
                {
                    throw new ToolException($"{outputs[i].Option} is {name} ({path}), or writes its temporary over it; write it elsewhere.");
                }
            }
        }
    }

    /// <summary>
    /// Checks, before any work, that <paramref name="path"/> can be written: it is not a folder, it does not exist
    /// unless <paramref name="overwrite"/>, and its folder, or the nearest folder above it that exists when it does not
    /// yet, accepts new files (a probe file is created and deleted, as the atomic write's temporary file will be). No
    /// folder is created: a run that fails leaves none behind; <see cref="CreateFolderFor"/> makes it when writing.
    /// </summary>
    public static void CheckWritable(string path, bool overwrite, string option = "--out", string overwriteHint = "pass --force to overwrite it")
    {
        if (Directory.Exists(path))
        {
            throw new ToolException($"{option} {path} is a folder; give the path of the file to write.");
        }

        if (File.Exists(path) && !overwrite)
        {
            throw new ToolException($"{path} exists; {overwriteHint}.");
        }

        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        while (directory is not null && !Directory.Exists(directory))
        {
            if (File.Exists(directory))
            {
                throw new ToolException($"{option} {path}: {directory} is a file, not a folder.");
            }

            directory = Path.GetDirectoryName(directory);
        }

        if (directory is null)
        {
            throw new ToolException($"{option} {path}: no folder of the path exists, not even its root.");
        }

        string probe = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.probe");
        try
        {
            using (File.Create(probe, 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ToolException($"{option} {path}: cannot write files in {directory} ({e.Message}).");
        }
    }

    /// <summary>Creates the folder of <paramref name="path"/> (and those above it) if missing, just before writing the file.</summary>
    public static void CreateFolderFor(string path, string option = "--out")
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ToolException($"{option} {path}: cannot create the folder {directory} ({e.Message}).");
        }
    }
}
