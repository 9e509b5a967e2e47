using Embedded.Rnn.Import;
using Embedded.Rnn.Safetensors;
using Microsoft.ML.OnnxRuntime;

namespace Embedded.Rnn.Tool;

/// <summary>
/// The golden run of an imported ONNX model: ONNX Runtime runs the original file on seeded random sequences, and its
/// outputs become a golden file in the reference-case format (input [T, B, I], output [T, B, O], time-major) that
/// <see cref="GoldenCheck"/> compares the compiled model with, as for a PyTorch golden file.
/// </summary>
public static class OnnxGoldenRun
{
    /// <summary>Steps per sequence, unless the graph fixes its time axis.</summary>
    public const int Steps = 7;

    /// <summary>Sequences, unless the graph fixes its batch axis.</summary>
    public const int Sequences = 3;

    // Inputs uniform in [-Range, Range): beyond the gates' linear region, so a wrong gate order or activation shows.
    private const float Range = 2f;

    /// <summary>The most values the golden run's input or output may hold (64 MB of float32 each).</summary>
    public const long MaxValues = 1 << 24;

    /// <summary>Runs <paramref name="onnx"/> (the file's bytes) in ONNX Runtime and returns the golden file.</summary>
    /// <exception cref="ToolException">
    /// ONNX Runtime cannot load or run the model, its output has another shape than the import expects, or the graph's
    /// fixed time and batch sizes make an input or output of more than <see cref="MaxValues"/> values.
    /// </exception>
    public static SafetensorsFile Golden(byte[] onnx, OnnxImportedModel imported, int seed = 2026)
    {
        var signature = imported.Signature;
        int steps = signature.FixedSteps ?? Steps, batch = signature.FixedBatch ?? Sequences, features = signature.Features, outputs = imported.Spec.Output;
        // Each fixed size is valid alone; their product may not even fit an int.
        long values = (long)steps * batch * Math.Max(features, outputs);
        if (values > MaxValues)
        {
            throw new ToolException($"the graph fixes {steps} steps × {batch} sequences ({features} features, {outputs} outputs): {values} values, " +
                $"more than the golden run's {MaxValues} for one run of ONNX Runtime; export the model with a dynamic time or batch axis to import it");
        }

        var random = new Random(seed);
        var x = new float[steps * batch * features];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = ((random.NextSingle() * 2) - 1) * Range;
        }

        float[] y;
        try
        {
            using var options = new SessionOptions
            {
                IntraOpNumThreads = 1,
                InterOpNumThreads = 1,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL, // its errors come back as exceptions, reported below
            };
            // ONNX Runtime's CPU kernels refuse layout 1: run the same nodes in layout 0 between transposes.
            using var session = new InferenceSession(OnnxImport.WithTimeMajorRecurrentNodes(onnx, out _), options);
            using var input = OrtValue.CreateTensorValueFromMemory(x, signature.InputShape(steps, batch));
            using var run = new RunOptions();
            using var results = session.Run(run, [signature.InputName], [input], [signature.OutputName]);
            var shape = results[0].GetTensorTypeAndShape().Shape;
            var expected = signature.OutputShape(steps, batch);
            if (!shape.SequenceEqual(expected))
            {
                throw new ToolException($"ONNX Runtime's output '{signature.OutputName}' has shape [{string.Join(", ", shape)}]; the import expected [{string.Join(", ", expected)}] for {steps} steps of {batch} sequences (please report this with the model)");
            }

            y = results[0].GetTensorDataAsSpan<float>().ToArray();
        }
        catch (OnnxRuntimeException e)
        {
            throw new ToolException($"ONNX Runtime cannot run the model: {e.Message}");
        }

        // The reference-case layout: time-major, [T, B, features].
        var goldenInput = new float[steps * batch * features];
        var goldenOutput = new float[steps * batch * outputs];
        for (int t = 0; t < steps; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                for (int i = 0; i < features; i++)
                {
                    goldenInput[(((t * batch) + b) * features) + i] = x[signature.InputOffset(t, b, i, steps, batch)];
                }

                for (int o = 0; o < outputs; o++)
                {
                    goldenOutput[(((t * batch) + b) * outputs) + o] = y[signature.OutputOffset(t, b, o, steps, batch)];
                }
            }
        }

        var golden = new SafetensorsWriter().AddMetadata("producer", "onnxruntime " + OrtEnv.Instance().GetVersionString())
            .Add("input", goldenInput, [steps, batch, features])
            .Add("output", goldenOutput, [steps, batch, outputs]);
        return SafetensorsFile.Parse(golden.ToArray());
    }
}
