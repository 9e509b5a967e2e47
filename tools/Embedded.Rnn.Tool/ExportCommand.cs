using System.CommandLine;
using Embedded.Rnn.Safetensors;

namespace Embedded.Rnn.Tool;

/// <summary>
/// <c>embedded-rnn export gesture.safetensors --spec gesture.rnn.json --out torch.safetensors --prefix lstm. --head-prefix fc.</c>:
/// checks the weights against the spec (strict load of the compiled model) and writes them as a PyTorch
/// state_dict, optionally nested under module prefixes; <c>--python</c> prints the code that loads them. A bf16 or int8
/// model's weights are written as the float32 values it computes with (rounded; read from a stored file exactly).
/// </summary>
public static class ExportCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var file = ToolCommands.ExistingFile("weights", "Embedded.Rnn weights (safetensors; from the trainer, embedded-rnn train or import).", "a safetensors file");
        var spec = ToolCommands.ExistingFileOption("--spec", "The model's spec (*.rnn.json): the weights are checked against it.", required: true);
        var output = new Option<FileInfo>("--out") { Description = "The safetensors file to write for PyTorch.", Required = true };
        var prefix = new Option<string>("--prefix") { Description = "Prefix for the recurrent tensors, for a module holding the rnn as an attribute (e.g. \"lstm.\" for self.lstm). Default: none (an nn.LSTM/GRU/RNN's own state_dict).", DefaultValueFactory = _ => string.Empty };
        var headPrefix = new Option<string>("--head-prefix") { Description = "Prefix for the head's weight and bias (e.g. \"fc.\" for self.fc).", DefaultValueFactory = _ => "head." };
        var python = new Option<bool>("--python") { Description = "Print a Python snippet that builds the PyTorch module and loads the file with load_state_dict(strict=True)." };
        var force = new Option<bool>("--force") { Description = "Overwrite an existing output file." };
        var command = new Command("export", "Exports weights for PyTorch: a safetensors state_dict with PyTorch's names (optionally under module prefixes), after checking them against the spec.")
        {
            file, spec, output, prefix, headPrefix, python, force,
        };
        command.SetGuardedAction((result, console) =>
        {
            using var compiled = ModelCompiler.CompileFile(result.GetValue(spec)!.FullName, allowNarrowWeights: true);
            if (TorchModule(compiled.Shape.Cell) is null)
            {
                // Its weights would load into the PyTorch module of the same names and silently compute other outputs.
                throw new ToolException($"{result.GetValue(spec)!.Name} is a {compiled.Shape.Cell} cell, which PyTorch has no module for: {WhyNoTorchModule(compiled.Shape.Cell)}");
            }

            var weightsFile = result.GetValue(file)!;
            var weights = ToolCommands.ReadSafetensors(weightsFile);
            float[][] values;
            try
            {
                // Strict, as the model loads: every tensor present, F32 (or as a bf16/int8 model stores it), with the spec's shape, finite.
                values = StateDictLoader.Load(weights, compiled.Parameters, compiled.Precision);
            }
            catch (SafetensorsException e)
            {
                throw new ToolException($"{weightsFile.Name} does not fit {result.GetValue(spec)!.Name}: {e.Message}");
            }

            // A bf16 or int8 model computes with its weights rounded: export those, as float32, so PyTorch computes the same.
            WeightQuantization.Round(compiled.Parameters, values, compiled.Precision, values);

            string rnnPrefix = result.GetValue(prefix)!;
            string head = result.GetValue(headPrefix)!;
            string destination = result.GetValue(output)!.FullName;
            ToolCommands.CheckOutputsDistinct([("--out", destination)], [("the weights file", weightsFile.FullName), ("the spec", result.GetValue(spec)!.FullName)]);
            ToolCommands.CheckWritable(destination, result.GetValue(force));
            var writer = new SafetensorsWriter().AddMetadata("format", "pt").AddMetadata("producer", "embedded-rnn export");
            var exportedNames = compiled.Parameters
                .Select(p => p.Name.StartsWith("head.", StringComparison.Ordinal) ? head + p.Name["head.".Length..] : rnnPrefix + p.Name)
                .ToArray();
            for (int i = 0; i < exportedNames.Length; i++)
            {
                var parameter = compiled.Parameters[i];
                writer.Add(exportedNames[i], values[i], parameter.Shape.Select(d => (long)d).ToArray());
            }

            ToolCommands.CreateFolderFor(destination);
            writer.Save(destination);
            console.WriteLine($"wrote {destination}: {exportedNames.Length} tensors ({string.Join(", ", exportedNames)})");
            if (result.GetValue(python))
            {
                console.Write(PythonSnippet(compiled.Shape, compiled.Parameters, rnnPrefix, head, Path.GetFileName(destination)));
            }

            return 0;
        });
        return command;
    }

    // The torch.nn module that computes a cell kind (RnnShape.Cell: "rnn (relu)", not "rnn") and the constructor
    // argument it needs beyond the sizes, or null when PyTorch has none (the reset-before GRU, the leaky_relu RNN).
    private static (string Module, string? Argument)? TorchModule(string cell) => cell switch
    {
        "lstm" => ("LSTM", null),
        "gru" => ("GRU", null),
        "rnn (tanh)" => ("RNN", null), // nonlinearity="tanh" is nn.RNN's default
        "rnn (relu)" => ("RNN", "nonlinearity=\"relu\""),
        _ => null,
    };

    // Why a cell that TorchModule has no module for cannot be exported, and what to do instead.
    private static string WhyNoTorchModule(string cell) => cell switch
    {
        "gru (reset before)" => "torch.nn.GRU applies the reset gate after W_hn h, so these weights would load into it with strict=True and give other outputs. " +
            "The weights file already has PyTorch's names and shapes; run the model where its convention exists (ONNX GRU with linear_before_reset=0, Keras GRU with reset_after=False).",
        "rnn (leaky_relu)" => "torch.nn.RNN's nonlinearity is tanh or relu only, so these weights would load into it with strict=True and give other outputs. " +
            "The weights file already has PyTorch's names and shapes; compute the cell yourself (h = leaky_relu(W_ih x + b_ih + W_hh h + b_hh)) to use them.",
        _ => "there is no torch.nn module with its maths.",
    };

    /// <summary>Python that rebuilds the module and loads the exported file strictly.</summary>
    public static string PythonSnippet(RnnShape shape, IReadOnlyList<ParameterSpec> parameters, string prefix, string headPrefix, string fileName)
    {
        var (module, cellArgument) = TorchModule(shape.Cell) ?? throw new ArgumentException($"PyTorch has no module for a {shape.Cell} cell.", nameof(shape));
        bool bias = parameters.Any(p => p.Name == "bias_ih_l0");
        bool head = parameters.Any(p => p.Name == "head.weight");
        var arguments = new List<string> { $"{shape.InputSize}", $"{shape.HiddenSize}" };
        if (shape.LayerCount != 1)
        {
            arguments.Add($"num_layers={shape.LayerCount}");
        }

        if (shape.DirectionCount == 2)
        {
            arguments.Add("bidirectional=True");
        }

        if (!bias)
        {
            arguments.Add("bias=False");
        }

        if (cellArgument is not null)
        {
            arguments.Add(cellArgument);
        }

        string rnn = $"torch.nn.{module}({string.Join(", ", arguments)})";
        string rnnName = prefix.TrimEnd('.');
        string headName = headPrefix.TrimEnd('.');
        var lines = new List<string>
        {
            "import torch",
            "from safetensors.torch import load_file",
            string.Empty,
        };
        if (prefix.Length == 0 && !head)
        {
            lines.Add($"model = {rnn}");
        }
        else if (!prefix.Contains('.', StringComparison.Ordinal) || prefix.IndexOf('.', StringComparison.Ordinal) != prefix.Length - 1
            || (head && (headPrefix.IndexOf('.', StringComparison.Ordinal) != headPrefix.Length - 1 || headName.Length == 0)) || rnnName.Length == 0)
        {
            lines.Add($"# Build a module whose state_dict names the recurrent tensors '{prefix}…'{(head ? $" and the head '{headPrefix}weight'/'{headPrefix}bias'" : string.Empty)}, e.g. with {rnn}.");
            lines.Add("model = ...");
        }
        else
        {
            lines.Add("class Net(torch.nn.Module):");
            lines.Add("    def __init__(self):");
            lines.Add("        super().__init__()");
            lines.Add($"        self.{rnnName} = {rnn}");
            if (head)
            {
                lines.Add($"        self.{headName} = torch.nn.Linear({shape.DirectionCount * shape.HiddenSize}, {shape.OutputSize})  # then the spec's head activation");
            }

            lines.Add(string.Empty);
            lines.Add("model = Net()");
        }

        lines.Add($"model.load_state_dict(load_file(\"{fileName}\"), strict=True)");
        return string.Join(Environment.NewLine, lines) + Environment.NewLine;
    }
}
