using System.CommandLine;
using Embedded.Rnn.Import;
using Embedded.Rnn.Safetensors;

namespace Embedded.Rnn.Tool;

/// <summary><c>embedded-rnn inspect weights.safetensors</c>: tensors, shapes, the model they imply and the spec it needs.</summary>
public static class InspectCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var file = ToolCommands.ExistingFile("file", "A safetensors file (PyTorch weights as a module's state_dict, Embedded.Rnn weights or a reference case), an ONNX model, or a Keras model (.keras, or a legacy .h5 saved whole).", "a safetensors, ONNX or Keras file");
        var prefix = new Option<string?>("--prefix") { Description = "Module prefix of the recurrent tensors (e.g. \"lstm.\"); found automatically when one tensor name ends in weight_ih_l0." };
        var headPrefix = new Option<string>("--head-prefix") { Description = "Prefix of the dense head's weight and bias.", DefaultValueFactory = _ => "head." };
        var command = new Command("inspect", "Lists a safetensors file's tensors (dtype, shape), infers the recurrent cell and sizes from PyTorch's names and shapes, and prints the spec the weights need; for an ONNX or Keras model, lists the nodes or layers as the importer reads them, and the spec.")
        {
            file, prefix, headPrefix,
        };
        command.SetGuardedAction((result, output) =>
        {
            var path = result.GetValue(file)!;
            if (ImportCommand.ReadIfOnnx(path) is { } onnx)
            {
                var model = ImportCommand.ReadOnnx(path, onnx);
                output.WriteLine($"{path.Name}: ONNX model, opset {model.Opset}, from {model.Producer}, {path.Length} bytes");
                output.WriteLine($"chain from input '{model.Signature.InputName}' ({(model.Signature.TimeAxis == 0 ? "time-major" : "batch-major")}) to output '{model.Signature.OutputName}':");
                foreach (string node in model.Nodes)
                {
                    output.WriteLine($"  {node}");
                }

                return ImportableModel(output, model.Spec, $"import it (checked against ONNX Runtime): embedded-rnn import {path.Name} --name NAME");
            }

            if (KerasImport.IsKeras(path.FullName))
            {
                var model = ImportCommand.ReadKeras(path);
                output.WriteLine($"{path.Name}: {model.Format} model, {path.Length} bytes");
                output.WriteLine("layers:");
                foreach (string layer in model.Layers)
                {
                    output.WriteLine($"  {layer}");
                }

                foreach (string note in model.Notes)
                {
                    output.WriteLine($"note: {note}");
                }

                return ImportableModel(output, model.Spec, $"import it (check it with --golden and Keras' input and output): embedded-rnn import {path.Name} --name NAME");
            }

            var weights = ToolCommands.ReadSafetensors(path);
            output.WriteLine($"{path.Name}: {weights.Tensors.Count} tensor{(weights.Tensors.Count == 1 ? string.Empty : "s")}, {path.Length} bytes");
            foreach (var (key, value) in weights.Metadata.OrderBy(m => m.Key, StringComparer.Ordinal))
            {
                output.WriteLine($"  metadata {key} = {(value.Length > 100 ? value[..100] + "…" : value)}");
            }

            int width = weights.Tensors.Count == 0 ? 0 : weights.Tensors.Max(t => t.Name.Length);
            var nonFinite = new List<string>();
            foreach (var tensor in weights.Tensors.OrderBy(t => t.Begin))
            {
                string? problem = NonFiniteProblem(weights, tensor);
                output.WriteLine($"  {tensor.Name.PadRight(width)}  {tensor.DType.ToString().ToUpperInvariant(),-4} {tensor.ShapeText}{(problem is null ? string.Empty : "  NOT FINITE")}");
                if (problem is not null)
                {
                    nonFinite.Add(problem);
                }
            }

            foreach (string problem in nonFinite)
            {
                output.WriteLine($"non-finite: {problem}");
            }

            StateDictLayout layout;
            try
            {
                layout = StateDictLayout.Infer(weights, result.GetValue(prefix), result.GetValue(headPrefix)!);
            }
            catch (ToolException e)
            {
                output.WriteLine($"model: none inferred: {e.Message}");
                return Outcome(nonFinite, result, path);
            }

            output.WriteLine($"model: {layout.Summary}" + (layout.Prefix.Length > 0 ? $" (tensors under '{layout.Prefix}')" : string.Empty));
            foreach (string candidate in layout.HeadCandidates(weights))
            {
                output.WriteLine($"  '{candidate}weight' and '{candidate}bias' fit a dense head: pass --head-prefix {candidate} to include it");
            }

            if (layout.Cell == "rnn")
            {
                output.WriteLine("  an rnn's activation (tanh, relu, leaky_relu) cannot be read from weights: the spec below uses PyTorch's default, tanh");
            }

            if (layout.HeadOutput is not null)
            {
                output.WriteLine("  the head's activation cannot be read from weights: set it in the spec (none, sigmoid, tanh, softmax)");
            }

            // Weight matrices as a bf16 or int8 model stores them (WeightQuantization.StoredFile): the spec needs that precision.
            var matrices = layout.Tensors.Where(t => t.Shape.Length == 2).Select(t => weights.GetTensor(t.Source)).ToList();
            var storage = matrices.Any(t => t.DType == SafetensorsDType.I8) ? WeightStorage.Int8
                : matrices.Any(t => t.DType == SafetensorsDType.BF16) ? WeightStorage.BFloat16
                : WeightStorage.Float32;
            string? precision = storage == WeightStorage.Float32 ? null : KernelLayout.PrecisionName(storage); // the spec leaves f32 out
            var scales = storage == WeightStorage.Int8 ? layout.Tensors.Select(t => t.Source + WeightQuantization.ScaleSuffix).Where(weights.Contains).ToHashSet(StringComparer.Ordinal) : [];
            long weightBytes = matrices.Sum(t => t.End - t.Begin) + scales.Sum(name => weights.GetTensor(name).End - weights.GetTensor(name).Begin);
            output.WriteLine($"weights: {KernelLayout.PrecisionName(storage)}, {weightBytes} bytes of weight matrices{(scales.Count > 0 ? " and row scales" : string.Empty)}"
                + (precision is null ? string.Empty : "; load them into a model of that precision"));

            output.WriteLine("spec:");
            output.Write((layout.Spec(layout.Cell == "rnn" ? "tanh" : null, layout.HeadOutput is null ? null : "none") with { Precision = precision }).ToJson());
            var ignored = layout.Ignored.Where(name => !scales.Contains(name)).ToList();
            if (ignored.Count > 0)
            {
                output.WriteLine($"not part of the model ({ignored.Count}): {string.Join(", ", ignored)}");
            }

            return Outcome(nonFinite, result, path);
        });
        return command;
    }

    // The file is still listed in full (inspect is for looking at broken files too), then refused as bad input, as every
    // loader refuses it.
    private static int Outcome(List<string> nonFinite, ParseResult result, FileInfo path)
    {
        if (nonFinite.Count == 0)
        {
            return 0;
        }

        result.InvocationConfiguration.Error.WriteLine(
            $"embedded-rnn inspect: error: {path.Name} holds NaN or infinite values in {nonFinite.Count} tensor{(nonFinite.Count == 1 ? string.Empty : "s")} (listed above); models refuse to load it.");
        return ToolCommands.BadInput;
    }

    // The end of an ONNX or Keras model's description: what it is, how to import it, and the spec it needs.
    private static int ImportableModel(TextWriter output, ImportedSpec spec, string howToImport)
    {
        output.WriteLine($"model: {spec.Summary}");
        output.WriteLine(howToImport);
        output.WriteLine("spec:");
        output.Write(spec.ToJson());
        return 0;
    }

    private static string? NonFiniteProblem(SafetensorsFile weights, SafetensorsTensor tensor)
    {
        try
        {
            weights.CheckFinite(tensor.Name);
            return null;
        }
        catch (SafetensorsException e)
        {
            return e.Message;
        }
    }
}
