using System.Globalization;
using Embedded.Rnn.Safetensors;

namespace Embedded.Rnn.Tool;

/// <summary>
/// Runs a compiled model on a golden input and compares with the golden output (PyTorch's) under the project's
/// bar |ours − theirs| ≤ 1e-5 · max(1, |theirs|). The golden file uses the reference-case format
/// (tests/refs/README.md): <c>input</c> [T, B, I] and <c>output</c> [T, B, O] (time-major; [B, T, …] with
/// batch-first), optional <c>h0</c>/<c>c0</c> [layers·directions, B, H] (zero when absent). Matching outputs
/// prove the gate layout and activations; a wrong gate order cannot pass.
/// </summary>
public static class GoldenCheck
{
    /// <summary>The forward bar of tests/refs/README.md.</summary>
    public const double Bound = 1e-5;

    /// <summary>The outcome: the largest scaled error, and the first value beyond the bound (null when none).</summary>
    public sealed record Outcome(double WorstError, int Sequences, int Steps, string? Failure);

    /// <summary>Runs the check.</summary>
    /// <exception cref="ToolException">
    /// The golden file lacks a tensor, a shape does not fit the model (named), or it holds no step or no sequence
    /// (an empty run would pass without comparing anything).
    /// </exception>
    public static Outcome Run(CompiledModel compiled, ITrainableRnnModel model, SafetensorsFile golden, bool batchFirst)
    {
        var shape = model.Shape;
        var input = Tensor(golden, "input");
        var output = Tensor(golden, "output");
        var (steps, batch) = Dimensions(input.Shape, shape.InputSize, "input", batchFirst);
        var (outSteps, outBatch) = Dimensions(output.Shape, shape.OutputSize, "output", batchFirst);
        if (outSteps != steps || outBatch != batch)
        {
            throw new ToolException($"golden 'output' has {outSteps} steps × {outBatch} sequences but 'input' has {steps} × {batch}.");
        }

        if (steps == 0 || batch == 0)
        {
            throw new ToolException($"golden 'input' has {steps} steps × {batch} sequences: a golden run needs at least one step of one sequence to check anything.");
        }

        var xs = golden.ReadAsSingle("input");
        var expected = golden.ReadAsDouble("output");
        var h0 = InitialState(golden, "h0", shape, batch);
        var c0 = model.HasCellState ? InitialState(golden, "c0", shape, batch) : null;
        double worst = 0;
        for (int b = 0; b < batch; b++)
        {
            var sequence = new float[steps * shape.InputSize];
            for (int t = 0; t < steps; t++)
            {
                xs.AsSpan(Index(t, b, steps, batch, batchFirst) * shape.InputSize, shape.InputSize).CopyTo(sequence.AsSpan(t * shape.InputSize));
            }

            var ours = compiled.Run(model, sequence, h0?[b], c0?[b]);
            for (int t = 0; t < steps; t++)
            {
                for (int j = 0; j < shape.OutputSize; j++)
                {
                    double theirs = expected[Index(t, b, steps, batch, batchFirst) * shape.OutputSize + j];
                    double got = ours[t * shape.OutputSize + j];
                    double error = Math.Abs(got - theirs) / Math.Max(1.0, Math.Abs(theirs));
                    if (!(error <= Bound))
                    {
                        return new Outcome(double.IsNaN(error) ? double.PositiveInfinity : Math.Max(worst, error), batch, steps, string.Create(CultureInfo.InvariantCulture,
                            $"output at step {t}, sequence {b}, unit {j}: ours {got:R}, golden {theirs:R} (scaled error {error:0.00e+00} > {Bound:0e+00})"));
                    }

                    worst = Math.Max(worst, error);
                }
            }
        }

        return new Outcome(worst, batch, steps, null);
    }

    private static SafetensorsTensor Tensor(SafetensorsFile golden, string name) =>
        golden.Contains(name) ? golden.GetTensor(name) : throw new ToolException($"the golden file has no '{name}' tensor (format: input [T, B, I], output [T, B, O], optional h0/c0).");

    private static (int Steps, int Batch) Dimensions(IReadOnlyList<long> dims, int features, string name, bool batchFirst)
    {
        string layout = batchFirst ? "[B, T, " : "[T, B, ";
        if (dims.Count == 2 && dims[1] == features)
        {
            return ((int)dims[0], 1); // one sequence, [T, features]
        }

        if (dims.Count != 3 || dims[2] != features)
        {
            throw new ToolException($"golden '{name}' has shape [{string.Join(", ", dims)}]; the model needs {layout}{features}].");
        }

        return batchFirst ? ((int)dims[1], (int)dims[0]) : ((int)dims[0], (int)dims[1]);
    }

    private static int Index(int t, int b, int steps, int batch, bool batchFirst) => batchFirst ? b * steps + t : t * batch + b;

    // PyTorch's h0 is [layers·directions, B, H]; the model wants one [layers·directions·H] slice per sequence.
    private static float[][]? InitialState(SafetensorsFile golden, string name, RnnShape shape, int batch)
    {
        if (!golden.Contains(name))
        {
            return null;
        }

        int blocks = shape.LayerCount * shape.DirectionCount;
        var dims = golden.GetTensor(name).Shape;
        if (dims.Count != 3 || dims[0] != blocks || dims[1] != batch || dims[2] != shape.HiddenSize)
        {
            throw new ToolException($"golden '{name}' has shape [{string.Join(", ", dims)}]; the model needs [{blocks}, {batch}, {shape.HiddenSize}].");
        }

        var values = golden.ReadAsSingle(name);
        var result = new float[batch][];
        for (int b = 0; b < batch; b++)
        {
            result[b] = new float[blocks * shape.HiddenSize];
            for (int k = 0; k < blocks; k++)
            {
                values.AsSpan((k * batch + b) * shape.HiddenSize, shape.HiddenSize).CopyTo(result[b].AsSpan(k * shape.HiddenSize));
            }
        }

        return result;
    }
}
