using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Embedded.Rnn.Import;
using Embedded.Rnn.Safetensors;

namespace Embedded.Rnn.Tool;

/// <summary>
/// <c>embedded-rnn import model.safetensors --name gesture --golden golden.safetensors</c>: turns PyTorch weights, an
/// ONNX model or a Keras model into <c>gesture.rnn.json</c> + <c>gesture.safetensors</c> (Embedded.Rnn's names), after
/// compiling the inferred spec with the generator, loading the weights strictly and checking the outputs (ONNX against
/// ONNX Runtime; PyTorch and Keras against a golden file when given). Nothing is written unless every step passed.
/// </summary>
public static class ImportCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var file = ToolCommands.ExistingFile("model", "PyTorch weights as safetensors (a module's state_dict: safetensors.torch.save_file(model.state_dict(), ...), or an nn.RNN/LSTM/GRU's), an ONNX model of LSTM, GRU or RNN nodes, or a Keras model (.keras, or a legacy .h5 saved whole); recognised by its content.", "a safetensors, ONNX or Keras file");
        var name = new Option<string>("--name") { Description = "Model name: the files written are <name>.rnn.json and <name>.safetensors (with --spec, the spec's name by default)." }
            .Check(value => string.IsNullOrWhiteSpace(value) || value.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || value.Contains('/') || value.Contains('\\')
                ? $"--name must be a plain file name (got '{value}')."
                : null);
        var outDir = new Option<DirectoryInfo>("--out") { Description = "Folder to write the spec and weights to.", DefaultValueFactory = _ => new DirectoryInfo(".") };
        var prefix = new Option<string?>("--prefix") { Description = "Module prefix of the recurrent tensors (e.g. \"lstm.\" for self.lstm); found automatically when one tensor name ends in weight_ih_l0." };
        var headPrefix = new Option<string>("--head-prefix") { Description = "Prefix of the nn.Linear head's weight and bias (e.g. \"fc.\"); written as head.weight and head.bias.", DefaultValueFactory = _ => "head." };
        var activation = ToolCommands.Choice("--activation", "An rnn cell's nonlinearity (weights cannot tell; PyTorch's default is tanh). Not allowed for lstm and gru.", null, "tanh", "relu", "leaky_relu");
        var headActivation = ToolCommands.Choice("--head-activation", "The head's activation, applied after the linear layer (weights cannot tell).", "none", "none", "sigmoid", "tanh", "softmax");
        var golden = ToolCommands.ExistingFileOption("--golden", "Golden run to check against (reference-case format: input [T, B, I], output [T, B, O] from PyTorch or Keras, optional h0/c0). Proves the gate layout; strongly recommended.", kind: "a safetensors file");
        var batchFirst = new Option<bool>("--batch-first") { Description = "The golden tensors are [B, T, ...] (PyTorch batch_first=True; Keras' layout)." };
        var userSpec = ToolCommands.ExistingFileOption("--spec", "Your spec (*.rnn.json) for these weights: they are checked against it and only <name>.safetensors is written, so the project does not get a second spec.", kind: "a spec file");
        var force = new Option<bool>("--force") { Description = "Overwrite existing files." };
        var command = new Command("import", "Imports PyTorch weights (safetensors), an ONNX model or a Keras model: infers cell, sizes, layers, direction and bias (and from ONNX and Keras the activations and head), writes <name>.rnn.json and <name>.safetensors, and checks the compiled model within 1e-5 (scaled) before writing anything: an ONNX model against ONNX Runtime on random sequences, PyTorch weights and Keras models against a --golden run.")
        {
            file, name, userSpec, outDir, prefix, headPrefix, activation, headActivation, golden, batchFirst, force,
        };
        command.Validators.Add(result =>
        {
            if (result.GetValue(name) is null && result.GetValue(userSpec) is null)
            {
                result.AddError("import needs --name (writes <name>.rnn.json and <name>.safetensors) or --spec (writes the weights for your spec).");
            }

            if (result.GetValue(userSpec) is not null && (result.GetResult(activation) is { Implicit: false } || result.GetResult(headActivation) is { Implicit: false }))
            {
                result.AddError("--activation and --head-activation come from the spec when --spec is given.");
            }
        });
        command.SetGuardedAction((result, output) =>
        {
            var path = result.GetValue(file)!;
            byte[]? onnx = ReadIfOnnx(path);
            ImportedModel imported;
            OnnxImportedModel? fromOnnx = null;
            KerasImportedModel? fromKeras = null;
            if (onnx is not null)
            {
                foreach (var option in new Option[] { prefix, headPrefix, activation, headActivation, golden, batchFirst })
                {
                    if (result.GetResult(option) is { Implicit: false })
                    {
                        throw new ToolException($"{option.Name} is for PyTorch safetensors files; an ONNX model says its layers, activations and head itself (and is checked against ONNX Runtime).");
                    }
                }

                imported = fromOnnx = ReadOnnx(path, onnx);
                output.WriteLine($"model: {imported.Spec.Summary} (ONNX, opset {fromOnnx.Opset}, from {fromOnnx.Producer})");
                foreach (string node in fromOnnx.Nodes)
                {
                    output.WriteLine($"  {node}");
                }
            }
            else if (KerasImport.IsKeras(path.FullName))
            {
                foreach (var option in new Option[] { prefix, headPrefix, activation, headActivation })
                {
                    if (result.GetResult(option) is { Implicit: false })
                    {
                        throw new ToolException($"{option.Name} is for PyTorch safetensors files; a Keras model says its layers, activations and head itself.");
                    }
                }

                imported = fromKeras = ReadKeras(path);
                output.WriteLine($"model: {imported.Spec.Summary} ({fromKeras.Format})");
                foreach (string layer in fromKeras.Layers)
                {
                    output.WriteLine($"  {layer}");
                }

                foreach (string note in fromKeras.Notes)
                {
                    output.WriteLine($"note: {note}");
                }
            }
            else
            {
                imported = FromStateDict(result, output, path);
            }

            string directory = result.GetValue(outDir)!.FullName;
            var existingSpec = result.GetValue(userSpec);
            string modelName = result.GetValue(name) ?? SpecName(existingSpec!);
            string specPath = existingSpec?.FullName ?? Path.Combine(directory, modelName + ".rnn.json");
            string weightsPath = Path.Combine(directory, modelName + ".safetensors");
            bool overwrite = result.GetValue(force);
            ToolCommands.CheckOutputsDistinct(
                [("the weights file", weightsPath), .. existingSpec is null ? new[] { ("the spec file", specPath) } : []],
                [("the model file", path.FullName), .. result.GetValue(golden) is { } goldenInput ? new[] { ("the golden file", goldenInput.FullName) } : []]);
            if (existingSpec is null)
            {
                ToolCommands.CheckWritable(specPath, overwrite);
            }

            ToolCommands.CheckWritable(weightsPath, overwrite);

            byte[] weightsBytes = imported.ToSafetensors("embedded-rnn import");
            string? spec = existingSpec is null ? imported.Spec.ToJson() : null;
            using var compiled = spec is null ? ModelCompiler.CompileFile(specPath) : ModelCompiler.Compile(specPath, spec);
            foreach (string warning in compiled.Warnings)
            {
                output.WriteLine(warning);
            }

            if (existingSpec is not null && (fromOnnx is not null || fromKeras is not null) && SpecDisagreement(imported.Spec, File.ReadAllText(existingSpec.FullName)) is { } disagreement)
            {
                // Tensors of the same shapes fit both conventions: only the spec says which maths runs them.
                throw new ToolException($"{existingSpec.Name} does not describe {path.Name}: {disagreement}. Nothing was written.");
            }

            ITrainableRnnModel model;
            try
            {
                model = compiled.FromSafetensors(SafetensorsFile.Parse(weightsBytes)); // strict: the spec and the weights agree
            }
            catch (SafetensorsException e) when (existingSpec is not null)
            {
                throw new ToolException($"the weights do not fit {existingSpec.Name} ({imported.Spec.Summary}): {e.Message}");
            }

            SafetensorsFile? goldenFile = fromOnnx is not null
                ? OnnxGoldenRun.Golden(onnx!, fromOnnx)
                : result.GetValue(golden) is { } goldenPath ? ToolCommands.ReadSafetensors(goldenPath) : null;
            if (goldenFile is not null)
            {
                string against = fromOnnx is not null ? " against ONNX Runtime" : string.Empty;
                var outcome = GoldenCheck.Run(compiled, model, goldenFile, fromOnnx is null && result.GetValue(batchFirst));
                if (outcome.Failure is not null)
                {
                    result.InvocationConfiguration.Error.WriteLine($"embedded-rnn import: golden check FAILED{against}: {outcome.Failure}. " +
                        (fromOnnx is not null
                            ? "The imported model does not reproduce the ONNX model (please report this with the model). Nothing was written."
                            : fromKeras is not null
                                ? "The imported model does not reproduce Keras' run: check that the golden file belongs to this model and its layout (--batch-first for Keras' [B, T, ...]). Nothing was written."
                                : "The weights do not reproduce PyTorch's run: check --activation, --head-activation and that the golden file belongs to these weights. Nothing was written."));
                    return ToolCommands.CheckFailed;
                }

                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"golden check passed{against}: {outcome.Sequences} sequence(s) × {outcome.Steps} steps on the {model.Path} path, largest scaled error {outcome.WorstError:0.00e+00} (bound {GoldenCheck.Bound:0e+00})"));
            }
            else
            {
                output.WriteLine("no golden check: pass --golden with the source framework's input and output (PyTorch's, or Keras' model.predict) to prove the gate layout");
            }

            ToolCommands.CreateFolderFor(weightsPath);
            if (spec is not null)
            {
                // Together: a failed write changes neither file; the weights move into place first, then the spec that names them.
                DurableFile.WriteAll([(weightsPath, weightsBytes), (specPath, Encoding.UTF8.GetBytes(spec))]);
                output.WriteLine($"wrote {specPath}");
            }
            else
            {
                DurableFile.Write(weightsPath, weightsBytes);
            }

            output.WriteLine($"wrote {weightsPath}");
            if (spec is not null)
            {
                output.Write("spec: " + spec);
                WarnAboutOtherSpecs(output, directory, specPath);
            }

            return 0;
        });
        return command;

        // A PyTorch state_dict: the cell and sizes come from the tensors, the activations from the options.
        ImportedModel FromStateDict(ParseResult result, TextWriter output, FileInfo path)
        {
            var source = ToolCommands.ReadSafetensors(path);
            var layout = StateDictLayout.Infer(source, result.GetValue(prefix), result.GetValue(headPrefix)!);
            foreach (var tensor in layout.Tensors)
            {
                source.CheckFinite(tensor.Source); // first, and by the name in the user's file (the strict load below names the imported tensor)
            }

            string? rnnActivation = result.GetValue(activation);
            if (rnnActivation is not null && layout.Cell != "rnn")
            {
                throw new ToolException($"--activation is for rnn cells; these weights are an {layout.Cell} (its gates are fixed to sigmoid and tanh).");
            }

            string? head = result.GetValue(headActivation);
            if (layout.HeadOutput is null && head != "none")
            {
                throw new ToolException($"--head-activation {head} given but the file has no head ('{layout.HeadPrefix}weight'); pass --head-prefix if the head is named differently.");
            }

            output.WriteLine($"model: {layout.Summary}");
            if (layout.Ignored.Count > 0)
            {
                output.WriteLine($"ignored (not part of the model): {string.Join(", ", layout.Ignored)}");
            }

            // F32, F64 or BF16 only: an integer tensor is a quantised checkpoint, whose values mean nothing without its scales.
            if (layout.Tensors.Select(t => t.Source).FirstOrDefault(name => source.GetTensor(name).DType is not (SafetensorsDType.F32 or SafetensorsDType.F64 or SafetensorsDType.BF16)) is { } other)
            {
                throw new ToolException($"tensor '{other}' is {source.GetTensor(other).DType.ToString().ToUpperInvariant()}: import reads F32, F64 or BF16 weights (convert the checkpoint to float32 first; an integer tensor needs its scales).");
            }

            return new ImportedModel(
                layout.Spec(layout.Cell == "rnn" ? rnnActivation ?? "tanh" : null, head),
                layout.Tensors.Select(t => new ImportedTensor(t.Target, t.Shape, source.ReadAsSingle(t.Source))).ToList());
        }
    }

    /// <summary>The file's bytes when it is an ONNX model (by its first bytes), else null.</summary>
    public static byte[]? ReadIfOnnx(FileInfo file)
    {
        var start = new byte[16];
        int read;
        using (var stream = file.OpenRead())
        {
            read = stream.ReadAtLeast(start, start.Length, throwOnEndOfStream: false);
        }

        return OnnxImport.IsOnnx(start.AsSpan(0, read), file.Length) ? File.ReadAllBytes(file.FullName) : null;
    }

    /// <summary>Reads an ONNX model, naming the file in any error.</summary>
    public static OnnxImportedModel ReadOnnx(FileInfo file, byte[] bytes)
    {
        try
        {
            return OnnxImport.Parse(bytes);
        }
        catch (ImportException e)
        {
            throw new ToolException($"{file.Name}: {e.Message}");
        }
    }

    /// <summary>
    /// What the user's spec says differently from an imported model about the maths its weights cannot tell (the GRU's
    /// reset convention, an rnn's activation, the head's activation), or null when they agree.
    /// </summary>
    public static string? SpecDisagreement(ImportedSpec imported, string specText)
    {
        using var json = JsonDocument.Parse(specText, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var root = json.RootElement;
        static string? Text(JsonElement element, string name) =>
            element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        var differences = new List<string>();
        if (imported.Cell == "gru" && (Text(root, "reset") ?? "after") is var reset && reset != (imported.Reset ?? "after"))
        {
            differences.Add($"the spec's GRU applies its reset {reset} the recurrent product, the model's {imported.Reset ?? "after"} (\"reset\": \"{imported.Reset ?? "after"}\")");
        }

        if (imported.Cell == "rnn" && (Text(root, "activation") ?? "tanh") is var activation && activation != (imported.Activation ?? "tanh"))
        {
            differences.Add($"the spec's activation is {activation}, the model's {imported.Activation ?? "tanh"}");
        }

        if (imported.HeadOutput is not null && root.TryGetProperty("head", out var head) && (Text(head, "activation") ?? "none") is var headActivation
            && headActivation != (imported.HeadActivation ?? "none"))
        {
            differences.Add($"the spec's head activation is {headActivation}, the model's {imported.HeadActivation ?? "none"}");
        }

        return differences.Count == 0 ? null : string.Join("; ", differences);
    }

    /// <summary>Reads a Keras model, naming the file in any error.</summary>
    public static KerasImportedModel ReadKeras(FileInfo file)
    {
        try
        {
            return KerasImport.Read(file.FullName);
        }
        catch (ImportException e)
        {
            throw new ToolException($"{file.Name}: {e.Message}");
        }
    }

    private static string SpecName(FileInfo spec) =>
        spec.Name.EndsWith(".rnn.json", StringComparison.OrdinalIgnoreCase) ? spec.Name[..^".rnn.json".Length] : Path.GetFileNameWithoutExtension(spec.Name);

    // A project makes every *.rnn.json below it an AdditionalFiles item: a second spec of the same name is almost always
    // the one the user wrote before importing, now shadowed by a copy nobody edits.
    private static void WarnAboutOtherSpecs(TextWriter output, string directory, string written)
    {
        var search = new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 4, IgnoreInaccessible = true };
        foreach (string other in Directory.EnumerateFiles(directory, Path.GetFileName(written), search))
        {
            string relative = Path.GetRelativePath(directory, other);
            bool built = relative.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj");
            if (!built && !string.Equals(Path.GetFullPath(other), written, StringComparison.Ordinal))
            {
                output.WriteLine($"warning: {relative} exists too, and a project makes both AdditionalFiles. To keep that spec, delete {Path.GetFileName(written)} " +
                    $"and import with --spec {relative} (it writes only the weights).");
            }
        }
    }
}
