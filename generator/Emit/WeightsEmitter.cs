using System.Collections.Generic;
using System.Linq;
using Embedded.Rnn.Generator.Layout;

namespace Embedded.Rnn.Generator.Emit;

/// <summary>
/// The weight layout in the kernels class: the model's <c>ModelLayout</c> (sizes and the cell's accumulator slots, from
/// which the runtime derives the parameter tensors and the packed blocks), packing for a path, reading safetensors, and
/// the weights baked in at build time as read-only data.
/// </summary>
internal sealed class WeightsEmitter(ModelFacts model, SourceWriter writer)
{
    private readonly ModelFacts _model = model;
    private readonly SourceWriter _w = writer;

    public void Emit()
    {
        var s = _model.Spec;
        var slots = _model.Cell.Slots;
        string Blocks(IEnumerable<int> blocks) => "[" + string.Join(", ", blocks.Select(Literals.Int)) + "]";
        _w.Lines($$"""
            // The {{_model.Cell.Title}}'s accumulator slots ({{string.Join(", ", slots.Select(x => x.Name))}}): the gate row block of weight_ih and of weight_hh each reads (-1: none).
            public static readonly ModelLayout Layout = new(Model.InputSize, Model.HiddenSize, Model.GateCount, Model.LayerCount, Model.DirectionCount,
                bias: {{(s.Bias ? "true" : "false")}}, headOutput: {{Literals.Int(s.Head?.Output ?? 0)}}, inputBlocks: {{Blocks(slots.Select(x => x.InputBlock))}}, recurrentBlocks: {{Blocks(slots.Select(x => x.RecurrentBlock))}},
                storage: WeightStorage.{{s.Storage}}{{Passes(slots)}});

            public static PackedWeights Pack(IReadOnlyList<float[]> parameters, KernelPath? path) => new(Layout, KernelPaths.Resolve(path), parameters);

            """);
        if (s.Head is not null || s.TrainingKernels)
        {
            _w.Line("// The dense head's activation (None without a head).");
            _w.Line($"public const HeadActivation OutputActivation = HeadActivation.{s.Head?.Activation.ToString() ?? "None"};");
            _w.Line();
        }

        if (s.HasBakedWeights)
        {
            EmitBakedWeights();
        }
    }

    // A cell with a second pass over its weights says which slots it computes; single-pass cells leave the default.
    private static string Passes(IReadOnlyList<Cells.Slot> slots) =>
        slots.All(x => x.Pass == 0) ? string.Empty : ", passes: [" + string.Join(", ", slots.Select(x => Literals.Int(x.Pass))) + "]";

    // The spec's weights as read-only data in the binary (RVA statics): nothing to ship or parse at start-up. A bf16 or
    // int8 model's weight matrices are rounded here and kept in their stored type, so the binary carries 2 or 1 bytes per
    // weight; loading widens them to the float32 values they stand for, which the packing rounds to the same values again.
    private void EmitBakedWeights()
    {
        var tensors = _model.Spec.BakedWeights;
        var shapes = _model.Spec.Parameters().Select(p => p.Shape).ToList();
        var storage = _model.Spec.Storage;
        bool Stored(int i) => storage != WeightStorage.Float32 && shapes[i].Length == 2;
        string Load(int i) => !Stored(i) ? $"Baked{Literals.Int(i)}.ToArray()"
            : storage == WeightStorage.BFloat16 ? $"WeightQuantization.FromBFloat16(Baked{Literals.Int(i)})"
            : $"WeightQuantization.FromInt8(Baked{Literals.Int(i)}, Baked{Literals.Int(i)}Scales)";

        _w.Line(storage switch
        {
            WeightStorage.BFloat16 => "// The weights baked in at build time from the spec's weights file, in Parameters order: weight matrices as bfloat16, biases float32.",
            WeightStorage.Int8 => "// The weights baked in at build time from the spec's weights file, in Parameters order: weight matrices as int8 with a float32 scale per row, biases float32.",
            _ => "// The weights baked in at build time from the spec's weights file, in Parameters order.",
        });
        _w.Line($"public static float[][] BakedWeights() => [{string.Join(", ", Enumerable.Range(0, tensors.Count).Select(Load))}];");
        _w.Line();
        for (int i = 0; i < tensors.Count; i++)
        {
            string name = "Baked" + Literals.Int(i);
            var values = tensors[i].Values;
            _w.Line($"// {tensors[i].Name}");
            if (!Stored(i))
            {
                _w.Line($"private static ReadOnlySpan<float> {name} => new float[] {{ {string.Join(", ", values.Select(Literals.Float))} }};");
            }
            else if (storage == WeightStorage.BFloat16)
            {
                _w.Line($"private static ReadOnlySpan<ushort> {name} => new ushort[] {{ {string.Join(", ", WeightsBaker.BFloat16Literals(values))} }};");
            }
            else
            {
                int columns = shapes[i][1];
                var (integers, scales) = WeightsBaker.Int8Literals(values, columns);
                _w.Line($"private static ReadOnlySpan<sbyte> {name} => new sbyte[] {{ {string.Join(", ", integers)} }};");
                _w.Line($"private static ReadOnlySpan<float> {name}Scales => new float[] {{ {string.Join(", ", scales.Select(Literals.Float))} }};");
            }
        }

        _w.Line();
    }
}
