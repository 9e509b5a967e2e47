using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Embedded.Rnn.Generator.Model;

namespace Embedded.Rnn.Generator;

public sealed partial class RnnGenerator
{
    /// <summary>
    /// Emits the model class. Kernels are written once per cell here and instantiated for every
    /// instruction-set path (<see cref="Isa"/>); the packed weight layout they read is
    /// <c>Embedded.Rnn.RecurrentPacking</c>'s.
    /// </summary>
    internal static class Emitter
    {
        /// <summary>Accumulators a tile keeps live: enough independent FMA chains to hide latency, few enough for 16 registers.</summary>
        internal const int TargetAccumulators = 8;

        /// <summary>Column loops up to this length are fully unrolled; longer ones by <see cref="UnrollFactor"/>.</summary>
        internal const int FullUnrollLimit = 16;

        internal const int UnrollFactor = 4;

        /// <summary>State buffers are padded to whole vectors of the widest path (16 floats).</summary>
        internal const int StatePadding = 16;

        private const string Unsafe = "global::System.Runtime.CompilerServices.Unsafe";
        private const string MemoryMarshal = "global::System.Runtime.InteropServices.MemoryMarshal";
        private const string Rnn = "global::Embedded.Rnn";

        public static string Emit(ModelSpec spec) => new ModelEmitter(spec).Emit();

        internal static int Pad(int n, int to) => (n + to - 1) / to * to;

        internal static string Float(float value) => value.ToString("R", CultureInfo.InvariantCulture) + "f";

        internal static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

        /// <summary>One accumulator per chunk of units: which input sections feed it.</summary>
        internal sealed record Slot(int InputBlock, int RecurrentBlock);

        /// <summary>Slots per cell, in the order of PyTorch's gate rows (see RecurrentPacking).</summary>
        internal static Slot[] Slots(CellKind cell) => cell switch
        {
            CellKind.Lstm => new[] { new Slot(0, 0), new Slot(1, 1), new Slot(2, 2), new Slot(3, 3) },
            // GRU keeps W_in x + b_in and W_hn h + b_hn apart, because r multiplies only the second.
            CellKind.Gru => new[] { new Slot(0, 0), new Slot(1, 1), new Slot(2, -1), new Slot(-1, 2) },
            _ => new[] { new Slot(0, 0) },
        };

        internal static readonly Slot[] DenseSlots = { new(0, -1) };

        /// <summary>What a kernel does: run (inference), run and write the tape (training forward), or back-propagate.</summary>
        internal enum Variant
        {
            Inference,
            Record,
            Backward,
        }

        /// <summary>An instruction-set path: how to spell loads, broadcasts, FMAs and stores on it.</summary>
        internal sealed class Isa
        {
            private readonly string? _static;

            private Isa(string name, int lanes)
            {
                Name = name;
                Lanes = lanes;
                _static = lanes == 1 ? null : "global::System.Runtime.Intrinsics." + name;
                Type = lanes == 1 ? "float" : _static + "<float>";
            }

            public static readonly Isa[] All = { new("Vector512", 16), new("Vector256", 8), new("Vector128", 4), new("Scalar", 1) };

            public string Name { get; }

            public int Lanes { get; }

            public string Type { get; }

            public string One => _static is null ? "1f" : Type + ".One";

            public string Zero => _static is null ? "0f" : Type + ".Zero";

            public string Sum(string vector) => _static is null ? vector : $"{_static}.Sum({vector})";

            /// <summary>ifPositive where x &gt; 0, else otherwise (lane by lane).</summary>
            public string SelectPositive(string x, string ifPositive, string otherwise) =>
                _static is null
                    ? $"({x} > 0f ? {ifPositive} : {otherwise})"
                    : $"{_static}.ConditionalSelect({_static}.GreaterThan({x}, {Zero}), {ifPositive}, {otherwise})";

            public string Load(string reference, string offset) =>
                _static is null ? $"{Unsafe}.Add(ref {reference}, {offset})" : $"{_static}.LoadUnsafe(ref {reference}, {offset})";

            public string Broadcast(string value) => _static is null ? value : $"{_static}.Create({value})";

            public string Fma(string a, string b, string c) =>
                _static is null ? $"{a} * {b} + {c}" : $"{_static}.MultiplyAddEstimate({a}, {b}, {c})";

            public string Store(string value, string reference, string offset) =>
                _static is null ? $"{Unsafe}.Add(ref {reference}, {offset}) = {value};" : $"{_static}.StoreUnsafe({value}, ref {reference}, {offset});";

            public int ChunksPerTile(int slots, int units) =>
                Math.Max(1, Math.Min(TargetAccumulators / slots, (units + Lanes - 1) / Lanes));
        }

        /// <summary>A matrix-vector kernel over packed tiles: a recurrent layer or the dense head.</summary>
        internal sealed record KernelShape(string Prefix, int Input, int Recurrent, int Units, Slot[] Slots)
        {
            public int InputSlots => Slots.Count(s => s.InputBlock >= 0);

            public int RecurrentSlots => Slots.Count(s => s.RecurrentBlock >= 0);

            public string Name(Isa isa, Variant variant = Variant.Inference) => $"{Variants[(int)variant]}{Prefix}_{isa.Name}_In{Int(Input)}";

            public string TileName(Isa isa, int chunks, Variant variant) => $"{Variants[(int)variant]}{Prefix}Tile_{isa.Name}_In{Int(Input)}_K{Int(chunks)}";

            private static readonly string[] Variants = { string.Empty, "Record", "Back" };

            public int TileLength(Isa isa, int chunks) => chunks * isa.Lanes * (Slots.Length + Input * InputSlots + Recurrent * RecurrentSlots);
        }

        private sealed class ModelEmitter
        {
            private readonly ModelSpec _spec;
            private readonly SourceWriter _w = new();
            private readonly KernelShape[] _layerShapes;
            private readonly KernelShape? _headShape;

            public ModelEmitter(ModelSpec spec)
            {
                _spec = spec;
                var slots = Slots(spec.Cell);
                _layerShapes = new[] { spec.Input, spec.LayerOutput }
                    .Take(spec.Layers > 1 ? 2 : 1)
                    .Distinct()
                    .Select(input => new KernelShape("Layer", input, spec.Hidden, spec.Hidden, slots))
                    .ToArray();
                _headShape = spec.Head is null ? null : new KernelShape("Head", spec.LayerOutput, 0, spec.Head.Output, DenseSlots);
            }

            private int PaddedHidden => Pad(_spec.Hidden, StatePadding);

            // The pre-activations of every slot (inference runs the gate math after the last tile), or the head's.
            private int ScratchLength => Math.Max(PaddedHidden * Slots(_spec.Cell).Length, _spec.Head is null ? 0 : Pad(_spec.Head.Output, StatePadding));

            private bool IsLstm => _spec.Cell == CellKind.Lstm;

            // The tape keeps what backward needs: the gate activations (GRU also W_hn h + b_hn), c_t and h_t.
            private int TapeSlots => _spec.Cell switch { CellKind.Lstm => 6, CellKind.Gru => 5, _ => 1 };

            private int TapeHiddenSlot => TapeSlots - 1;

            private string TapeLayout => _spec.Cell switch
            {
                CellKind.Lstm => "i, f, g, o, c, h",
                CellKind.Gru => "r, z, n, W_hn h + b_hn, h",
                _ => "h",
            };

            private string Class => _spec.ClassName;

            public string Emit()
            {
                _w.Line("// <auto-generated/>");
                _w.Line("// Generated by Embedded.Rnn from the model spec. Do not edit.");
                _w.Line("#nullable enable");
                _w.Line();
                if (_spec.Namespace is not null)
                {
                    _w.Line($"namespace {_spec.Namespace};");
                    _w.Line();
                }

                string contract = _spec.Bidirectional ? "IRnnModel" : "IStreamingRnnModel";
                _w.Line($"partial class {Class} : {Rnn}.{contract}<{Class}.State>, {Rnn}.ITrainableRnnModel");
                _w.Line("{");
                EmitConstants();
                EmitFieldsAndConstruction();
                EmitState();
                EmitPublicApi();
                EmitDispatch();
                EmitTrainingApi();
                foreach (var isa in Isa.All)
                {
                    foreach (var shape in _layerShapes)
                    {
                        EmitKernel(isa, shape);
                    }

                    if (_headShape is not null)
                    {
                        EmitKernel(isa, _headShape);
                    }
                }

                _w.Line("}");
                return _w.ToString();
            }

            private void EmitConstants()
            {
                var s = _spec;
                string cell = s.Cell switch
                {
                    CellKind.Lstm => "lstm",
                    CellKind.Gru => "gru",
                    _ => "rnn (" + s.Activation switch
                    {
                        RecurrentActivation.Relu => "relu",
                        RecurrentActivation.LeakyRelu => "leaky_relu",
                        _ => "tanh",
                    } + ")",
                };
                _w.Line($"/// <summary>Cell kind: {cell}.</summary>");
                _w.Line($"public const string CellKind = \"{cell}\";");
                _w.Line("/// <summary>Features per time step of the input.</summary>");
                _w.Line($"public const int InputSize = {Int(s.Input)};");
                _w.Line("/// <summary>Hidden units per layer and direction.</summary>");
                _w.Line($"public const int HiddenSize = {Int(s.Hidden)};");
                _w.Line("/// <summary>Stacked recurrent layers.</summary>");
                _w.Line($"public const int LayerCount = {Int(s.Layers)};");
                _w.Line("/// <summary>1, or 2 for a bidirectional model.</summary>");
                _w.Line($"public const int DirectionCount = {Int(s.Directions)};");
                _w.Line("/// <summary>Gate row blocks per weight matrix (PyTorch order: lstm i,f,g,o; gru r,z,n).</summary>");
                _w.Line($"public const int GateCount = {Int(s.Gates)};");
                _w.Line("/// <summary>Width of the top recurrent layer's output (DirectionCount × HiddenSize).</summary>");
                _w.Line($"public const int LayerOutputSize = {Int(s.LayerOutput)};");
                _w.Line("/// <summary>Values per time step of the model's output (the head's size, or LayerOutputSize).</summary>");
                _w.Line($"public const int OutputSize = {Int(s.Output)};");
                _w.Line("/// <summary>True when the model ends in a dense head.</summary>");
                _w.Line($"public const bool HasHead = {(s.Head is null ? "false" : "true")};");
                _w.Line($"private const int PaddedHidden = {Int(PaddedHidden)};");
                _w.Line($"private const int ScratchLength = {Int(ScratchLength)};");
                _w.Line("// Training tape per step, per layer and direction: " + TapeLayout + ", each PaddedHidden floats.");
                _w.Line($"private const int TapeStride = {Int(TapeSlots * PaddedHidden)};");
                _w.Line($"private const int TapeHiddenOffset = {Int(TapeHiddenSlot * PaddedHidden)};");
                _w.Line($"private const int TapeCellOffset = {(IsLstm ? Int(4 * PaddedHidden) : "-1")};");
                _w.Line($"private const int HeadBlock = {Int(s.Layers * s.Directions)};");
                _w.Line();
            }

            private void EmitFieldsAndConstruction()
            {
                var s = _spec;
                var parameters = s.Parameters().ToList();
                _w.Line($"private readonly {Rnn}.KernelPath _path;");
                _w.Line("// Weights per block (each layer and direction, then the head), packed in the order the kernels stream them.");
                _w.Line("private readonly float[][] _packed;");
                _w.Line("private readonly int[] _offsets; // where each block's 64-byte-aligned data start in _packed");
                _w.Line($"private readonly {Rnn}.RecurrentPacking[] _layouts;");
                _w.Line();
                _w.Line("/// <summary>The parameter tensors the model loads, by PyTorch state_dict name and shape, in state_dict order.</summary>");
                _w.Line($"public static global::System.Collections.Generic.IReadOnlyList<{Rnn}.ParameterSpec> Parameters {{ get; }} = new {Rnn}.ParameterSpec[]");
                _w.Line("{");
                foreach (var (name, shape) in parameters)
                {
                    _w.Line($"new(\"{name}\", new[] {{ {string.Join(", ", shape.Select(Int))} }}),");
                }

                _w.Line("};");
                _w.Line();
                _w.Line("/// <summary>The instruction-set path this instance runs.</summary>");
                _w.Line($"public {Rnn}.KernelPath Path => _path;");
                _w.Line();
                _w.Line("/// <summary>The model's sizes.</summary>");
                _w.Line($"public static {Rnn}.RnnShape Shape => new(CellKind, InputSize, HiddenSize, LayerCount, DirectionCount, OutputSize);");
                _w.Line();
                _w.Line($"{Rnn}.RnnShape {Rnn}.IGeneratedRnnModel.Shape => Shape;");
                _w.Line();

                var slots = Slots(s.Cell);
                _w.Line($"private static global::System.ReadOnlySpan<int> InputBlocks => new[] {{ {string.Join(", ", slots.Select(x => Int(x.InputBlock)))} }};");
                _w.Line($"private static global::System.ReadOnlySpan<int> RecurrentBlocks => new[] {{ {string.Join(", ", slots.Select(x => Int(x.RecurrentBlock)))} }};");
                _w.Line();
                var blocks = new List<string>();
                int p = 0;
                for (int layer = 0; layer < s.Layers; layer++)
                {
                    for (int direction = 0; direction < s.Directions; direction++)
                    {
                        blocks.Add(s.Bias ? $"{Int(p)}, {Int(p + 1)}, {Int(p + 2)}, {Int(p + 3)}" : $"{Int(p)}, {Int(p + 1)}, -1, -1");
                        p += s.Bias ? 4 : 2;
                    }
                }

                if (s.Head is not null)
                {
                    blocks.Add($"{Int(p)}, -1, {Int(p + 1)}, -1");
                }

                _w.Line("// Per block, the index in Parameters of weight_ih, weight_hh, bias_ih, bias_hh (-1: none).");
                _w.Line("private static readonly int[][] BlockParameters =");
                _w.Line("{");
                foreach (string block in blocks)
                {
                    _w.Line($"new[] {{ {block} }},");
                }

                _w.Line("};");
                _w.Line();
                _w.Line($"private {Class}(global::System.Collections.Generic.IReadOnlyList<float[]> parameters, {Rnn}.KernelPath path)");
                _w.Line("{");
                _w.Line("_path = path;");
                _w.Line($"int lanes = {Rnn}.KernelPaths.Lanes(path);");
                EmitChunksSwitch("recurrentChunks", slots.Length, s.Hidden);
                _w.Line($"var first = new {Rnn}.RecurrentPacking(InputSize, HiddenSize, HiddenSize, lanes, recurrentChunks, InputBlocks, RecurrentBlocks);");
                if (s.Layers > 1)
                {
                    _w.Line($"var deeper = new {Rnn}.RecurrentPacking(LayerOutputSize, HiddenSize, HiddenSize, lanes, recurrentChunks, InputBlocks, RecurrentBlocks);");
                }

                if (s.Head is not null)
                {
                    EmitChunksSwitch("headChunks", 1, s.Head.Output);
                }

                var layouts = Enumerable.Range(0, s.Layers * s.Directions).Select(b => b < s.Directions ? "first" : "deeper").ToList();
                if (s.Head is not null)
                {
                    layouts.Add($"new {Rnn}.RecurrentPacking(LayerOutputSize, 0, OutputSize, lanes, headChunks, new[] {{ 0 }}, new[] {{ -1 }})");
                }

                _w.Line($"_layouts = new {Rnn}.RecurrentPacking[] {{ {string.Join(", ", layouts)} }};");
                _w.Line("_packed = new float[_layouts.Length][];");
                _w.Line("_offsets = new int[_layouts.Length];");
                _w.Line("for (int b = 0; b < _layouts.Length; b++)");
                _w.Line("{");
                _w.Line($"_packed[b] = {Rnn}.AlignedArrays.Allocate(_layouts[b].Length, out _offsets[b]);");
                _w.Line("}");
                _w.Line();
                _w.Line("LoadParameters(parameters);");
                _w.Line("}");
                _w.Line();
                _w.Line("/// <summary>Replaces the weights by PyTorch-layout tensors in <see cref=\"Parameters\"/> order (the trainer does this after each update).</summary>");
                _w.Line("/// <exception cref=\"global::System.ArgumentException\">The tensors' count or lengths differ from Parameters.</exception>");
                _w.Line("public void LoadParameters(global::System.Collections.Generic.IReadOnlyList<float[]> parameters)");
                _w.Line("{");
                _w.Line($"{Rnn}.RnnThrow.IfParametersMismatch(parameters, Parameters);");
                _w.Line("for (int b = 0; b < _layouts.Length; b++)");
                _w.Line("{");
                _w.Line("var map = BlockParameters[b];");
                _w.Line("_layouts[b].PackInto(new global::System.Span<float>(_packed[b], _offsets[b], _layouts[b].Length), Tensor(parameters, map[0]), Tensor(parameters, map[1]), Tensor(parameters, map[2]), Tensor(parameters, map[3]));");
                _w.Line("}");
                _w.Line("}");
                _w.Line();
                _w.Line($"void {Rnn}.ITrainableRnnModel.AccumulateGradients(global::System.Collections.Generic.IReadOnlyList<float[]> packedGradients, global::System.Collections.Generic.IReadOnlyList<float[]> parameterGradients)");
                _w.Line("{");
                _w.Line($"{Rnn}.RnnThrow.IfParametersMismatch(parameterGradients, Parameters);");
                _w.Line("for (int b = 0; b < _layouts.Length; b++)");
                _w.Line("{");
                _w.Line("var map = BlockParameters[b];");
                _w.Line("_layouts[b].AccumulateGradient(packedGradients[b], Tensor(parameterGradients, map[0]), Tensor(parameterGradients, map[1]), Tensor(parameterGradients, map[2]), Tensor(parameterGradients, map[3]));");
                _w.Line("}");
                _w.Line("}");
                _w.Line();
                _w.Line("private static float[] Tensor(global::System.Collections.Generic.IReadOnlyList<float[]> tensors, int index) => index < 0 ? global::System.Array.Empty<float>() : tensors[index];");
                _w.Line();
                _w.Line($"private ref float Weights(int block) => ref {Unsafe}.Add(ref {MemoryMarshal}.GetArrayDataReference(_packed[block]), _offsets[block]);");
                _w.Line();

                string pathDoc = "<param name=\"kernelPath\">The path to run; null picks the widest the hardware accelerates. A wider path than the hardware's still runs (emulated, slowly), which is for verification.</param>";
                string throwsDoc = $"<exception cref=\"{Rnn}.Safetensors.SafetensorsException\">The file is malformed or its tensors differ from <see cref=\"Parameters\"/> (the message names the tensor).</exception>";
                _w.Line("/// <summary>Loads the model from a safetensors file holding exactly <see cref=\"Parameters\"/> (F32).</summary>");
                _w.Line($"/// {pathDoc}");
                _w.Line($"/// {throwsDoc}");
                _w.Line($"public static {Class} FromSafetensors(string path, {Rnn}.KernelPath? kernelPath = null) => FromSafetensors({Rnn}.Safetensors.SafetensorsFile.Read(path), kernelPath);");
                _w.Line();
                _w.Line("/// <summary>Loads the model from a stream holding a safetensors file with exactly <see cref=\"Parameters\"/> (F32).</summary>");
                _w.Line($"/// {pathDoc}");
                _w.Line($"/// {throwsDoc}");
                _w.Line($"public static {Class} FromSafetensors(global::System.IO.Stream stream, {Rnn}.KernelPath? kernelPath = null) => FromSafetensors({Rnn}.Safetensors.SafetensorsFile.Read(stream), kernelPath);");
                _w.Line();
                _w.Line("/// <summary>Loads the model from safetensors bytes holding exactly <see cref=\"Parameters\"/> (F32).</summary>");
                _w.Line($"/// {pathDoc}");
                _w.Line($"/// {throwsDoc}");
                _w.Line($"public static {Class} FromSafetensors(global::System.ReadOnlyMemory<byte> bytes, {Rnn}.KernelPath? kernelPath = null) => FromSafetensors({Rnn}.Safetensors.SafetensorsFile.Parse(bytes), kernelPath);");
                _w.Line();
                _w.Line("/// <summary>Loads the model from a parsed safetensors file holding exactly <see cref=\"Parameters\"/> (F32).</summary>");
                _w.Line($"/// {pathDoc}");
                _w.Line($"/// {throwsDoc}");
                _w.Line($"public static {Class} FromSafetensors({Rnn}.Safetensors.SafetensorsFile file, {Rnn}.KernelPath? kernelPath = null) => new {Class}({Rnn}.StateDictLoader.Load(file, Parameters), ResolvePath(kernelPath));");
                _w.Line();
                _w.Line("/// <summary>Creates the model from PyTorch-layout tensors in <see cref=\"Parameters\"/> order (copied; for example freshly initialised weights to train).</summary>");
                _w.Line($"/// {pathDoc}");
                _w.Line("/// <exception cref=\"global::System.ArgumentException\">The tensors' count or lengths differ from Parameters.</exception>");
                _w.Line($"public static {Class} FromParameters(global::System.Collections.Generic.IReadOnlyList<float[]> parameters, {Rnn}.KernelPath? kernelPath = null) => new {Class}(parameters, ResolvePath(kernelPath));");
                _w.Line();
                _w.Line($"private static {Rnn}.KernelPath ResolvePath({Rnn}.KernelPath? kernelPath)");
                _w.Line("{");
                _w.Line($"var path = kernelPath ?? {Rnn}.KernelPaths.Best;");
                _w.Line($"if (path < {Rnn}.KernelPath.Scalar || path > {Rnn}.KernelPath.Vector512)");
                _w.Line("{");
                _w.Line($"{Rnn}.RnnThrow.Index(nameof(kernelPath), (int)path, 4);");
                _w.Line("}");
                _w.Line();
                _w.Line("return path;");
                _w.Line("}");
                _w.Line();
                if (s.HasBakedWeights)
                {
                    EmitBakedWeights();
                }
            }

            // The spec's weights as read-only data in the binary (RVA statics): nothing to ship or parse at start-up.
            private void EmitBakedWeights()
            {
                var tensors = _spec.BakedWeights;
                _w.Line("/// <summary>Creates the model from the weights baked in at build time (the spec's \"weights\" file).</summary>");
                _w.Line("/// <param name=\"kernelPath\">The path to run; null picks the widest the hardware accelerates.</param>");
                _w.Line($"public static {Class} FromBakedWeights({Rnn}.KernelPath? kernelPath = null) => new {Class}(new float[][] {{ {string.Join(", ", Enumerable.Range(0, tensors.Count).Select(i => $"Baked{Int(i)}.ToArray()"))} }}, ResolvePath(kernelPath));");
                _w.Line();
                for (int i = 0; i < tensors.Count; i++)
                {
                    _w.Line($"// {tensors[i].Name}");
                    var values = tensors[i].Values;
                    var literals = new List<string>(values.Count);
                    foreach (float v in values)
                    {
                        literals.Add(float.IsNaN(v) ? "float.NaN" : float.IsPositiveInfinity(v) ? "float.PositiveInfinity" : float.IsNegativeInfinity(v) ? "float.NegativeInfinity" : Float(v));
                    }

                    _w.Line($"private static global::System.ReadOnlySpan<float> Baked{Int(i)} => new float[] {{ {string.Join(", ", literals)} }};");
                }

                _w.Line();
            }

            private void EmitChunksSwitch(string variable, int slots, int units)
            {
                _w.Line($"int {variable} = path switch");
                _w.Line("{");
                foreach (var isa in Isa.All.Where(i => i.Lanes > 1))
                {
                    _w.Line($"{Rnn}.KernelPath.{isa.Name} => {Int(isa.ChunksPerTile(slots, units))},");
                }

                _w.Line($"_ => {Int(Isa.All.Last().ChunksPerTile(slots, units))},");
                _w.Line("};");
            }

            private void EmitState()
            {
                int stateLength = _spec.Layers * _spec.Directions * PaddedHidden;
                _w.Line("/// <summary>");
                _w.Line("/// The recurrent state of one sequence: every layer's and direction's hidden state h" + (IsLstm ? " and cell state c" : string.Empty) + ".");
                _w.Line("/// A value type with no references: keep one per sensor or stream; all may share one model instance.");
                _w.Line("/// <c>default</c> is the zero state.");
                _w.Line("/// </summary>");
                _w.Line($"public struct State : {Rnn}.IRnnState");
                _w.Line("{");
                _w.Line("private StateBuffer _hidden;");
                if (IsLstm)
                {
                    _w.Line("private StateBuffer _cell;");
                }

                _w.Line("private ScratchBuffer _scratch;");
                _w.Line();
                _w.Line("/// <summary>The hidden state h of a layer and direction (HiddenSize values), readable and writable.</summary>");
                _w.Line("/// <exception cref=\"global::System.ArgumentOutOfRangeException\">layer or direction is out of range.</exception>");
                _w.Line("[global::System.Diagnostics.CodeAnalysis.UnscopedRef]");
                _w.Line($"public global::System.Span<float> Hidden(int layer, int direction = 0) => {MemoryMarshal}.CreateSpan(ref HiddenRef(Block(layer, direction)), HiddenSize);");
                if (IsLstm)
                {
                    _w.Line();
                    _w.Line("/// <summary>The cell state c of a layer and direction (HiddenSize values), readable and writable.</summary>");
                    _w.Line("/// <exception cref=\"global::System.ArgumentOutOfRangeException\">layer or direction is out of range.</exception>");
                    _w.Line("[global::System.Diagnostics.CodeAnalysis.UnscopedRef]");
                    _w.Line($"public global::System.Span<float> Cell(int layer, int direction = 0) => {MemoryMarshal}.CreateSpan(ref CellRef(Block(layer, direction)), HiddenSize);");
                }
                else
                {
                    _w.Line();
                    _w.Line("[global::System.Diagnostics.CodeAnalysis.UnscopedRef]");
                    _w.Line($"global::System.Span<float> {Rnn}.IRnnState.Cell(int layer, int direction) => throw new global::System.NotSupportedException(\"A {_spec.Cell.ToString().ToLowerInvariant()} cell has no cell state.\");");
                }

                _w.Line();
                _w.Line("/// <summary>Sets every state value to zero.</summary>");
                _w.Line("public void Reset() => this = default;");
                _w.Line();
                _w.Line("[global::System.Diagnostics.CodeAnalysis.UnscopedRef]");
                _w.Line($"internal ref float HiddenRef(int slot) => ref {Unsafe}.Add(ref {Unsafe}.As<StateBuffer, float>(ref _hidden), slot * PaddedHidden);");
                _w.Line();
                _w.Line("[global::System.Diagnostics.CodeAnalysis.UnscopedRef]");
                _w.Line(IsLstm
                    ? $"internal ref float CellRef(int slot) => ref {Unsafe}.Add(ref {Unsafe}.As<StateBuffer, float>(ref _cell), slot * PaddedHidden);"
                    : "internal ref float CellRef(int slot) => ref HiddenRef(slot); // no cell state: kernels ignore it");
                _w.Line();
                _w.Line("[global::System.Diagnostics.CodeAnalysis.UnscopedRef]");
                _w.Line($"internal ref float ScratchRef() => ref {Unsafe}.As<ScratchBuffer, float>(ref _scratch);");
                _w.Line();
                _w.Line("// Padded to whole 16-float vectors: kernels load and store full vectors; the padding stays zero.");
                _w.Line($"[global::System.Runtime.CompilerServices.InlineArray({Int(stateLength)})]");
                _w.Line("private struct StateBuffer");
                _w.Line("{");
                _w.Line("private float _element0;");
                _w.Line("}");
                _w.Line();
                _w.Line("// Where a layer writes its new h before it replaces the old one (which the layer still reads).");
                _w.Line($"[global::System.Runtime.CompilerServices.InlineArray({Int(ScratchLength)})]");
                _w.Line("private struct ScratchBuffer");
                _w.Line("{");
                _w.Line("private float _element0;");
                _w.Line("}");
                _w.Line("}");
                _w.Line();
            }

            private void EmitPublicApi()
            {
                string lengthCheck(string name, string expected, string description) =>
                    $"if ({name}.Length != {expected}) {{ {Rnn}.RnnThrow.Length(nameof({name}), \"{description}\", {name}.Length); }}";

                if (!_spec.Bidirectional)
                {
                    _w.Line("/// <summary>Advances the state by one time step (streaming) and writes the step's output.</summary>");
                    _w.Line("/// <param name=\"x\">InputSize features of this step.</param>");
                    _w.Line("/// <param name=\"state\">The stream's state, updated in place.</param>");
                    _w.Line("/// <param name=\"y\">Receives OutputSize values.</param>");
                    _w.Line("/// <exception cref=\"global::System.ArgumentException\">A span has the wrong length.</exception>");
                    _w.Line("public void Step(global::System.ReadOnlySpan<float> x, ref State state, global::System.Span<float> y)");
                    _w.Line("{");
                    _w.Line(lengthCheck("x", "InputSize", "InputSize"));
                    _w.Line(lengthCheck("y", "OutputSize", "OutputSize"));
                    _w.Line($"StepCore(ref {MemoryMarshal}.GetReference(x), ref state, ref {MemoryMarshal}.GetReference(y));");
                    _w.Line("}");
                    _w.Line();
                    _w.Line("/// <summary>Runs a whole sequence from the given state, leaving the final state in it.</summary>");
                    _w.Line("/// <param name=\"xs\">T × InputSize values, time-major.</param>");
                    _w.Line("/// <param name=\"state\">The initial state; holds the final state afterwards.</param>");
                    _w.Line("/// <param name=\"ys\">Receives T × OutputSize values.</param>");
                    _w.Line("/// <exception cref=\"global::System.ArgumentException\">xs is not whole steps, or ys does not match it.</exception>");
                    _w.Line("public void Run(global::System.ReadOnlySpan<float> xs, ref State state, global::System.Span<float> ys)");
                    _w.Line("{");
                    _w.Line("int steps = xs.Length / InputSize;");
                    _w.Line(lengthCheck("xs", "steps * InputSize", "a multiple of InputSize"));
                    _w.Line(lengthCheck("ys", "steps * OutputSize", "T × OutputSize for T = xs.Length / InputSize"));
                    _w.Line($"ref float x = ref {MemoryMarshal}.GetReference(xs);");
                    _w.Line($"ref float y = ref {MemoryMarshal}.GetReference(ys);");
                    _w.Line("for (int t = 0; t < steps; t++)");
                    _w.Line("{");
                    _w.Line($"StepCore(ref {Unsafe}.Add(ref x, t * InputSize), ref state, ref {Unsafe}.Add(ref y, t * OutputSize));");
                    _w.Line("}");
                    _w.Line("}");
                    _w.Line();
                    _w.Line("private void StepCore(ref float x, ref State state, ref float y)");
                    _w.Line("{");
                    _w.Line("LayerStep(0, 0, ref x, ref state);");
                    for (int layer = 1; layer < _spec.Layers; layer++)
                    {
                        _w.Line($"LayerStep({Int(layer)}, 0, ref state.HiddenRef({Int(layer - 1)}), ref state);");
                    }

                    string top = $"ref state.HiddenRef({Int(_spec.Layers - 1)})";
                    _w.Line(_spec.Head is null
                        ? $"{Unsafe}.CopyBlockUnaligned(ref {Unsafe}.As<float, byte>(ref y), ref {Unsafe}.As<float, byte>({top}), HiddenSize * sizeof(float));"
                        : $"HeadStep({top}, ref y, ref state);");
                    _w.Line("}");
                    _w.Line();
                    return;
                }

                int buffers = Math.Min(2, _spec.Layers - 1 + (_spec.Head is null ? 0 : 1));
                _w.Line("/// <summary>Floats of workspace <see cref=\"Run(global::System.ReadOnlySpan{float}, ref State, global::System.Span{float}, global::System.Span{float})\"/> needs for <paramref name=\"steps\"/> steps.</summary>");
                _w.Line($"public static int RunWorkspaceLength(int steps) => {Int(buffers)} * steps * LayerOutputSize;");
                _w.Line();
                _w.Line("/// <summary>");
                _w.Line("/// Runs a whole sequence in both directions from the given state, leaving each direction's final state in it");
                _w.Line("/// (forward: after the last step; reverse: after the first). Rents its workspace from the shared array pool.");
                _w.Line("/// </summary>");
                _w.Line("/// <param name=\"xs\">T × InputSize values, time-major.</param>");
                _w.Line("/// <param name=\"state\">The initial state; holds the final state afterwards.</param>");
                _w.Line("/// <param name=\"ys\">Receives T × OutputSize values (without a head: forward h then reverse h per step).</param>");
                _w.Line("/// <exception cref=\"global::System.ArgumentException\">xs is not whole steps, or ys does not match it.</exception>");
                _w.Line("public void Run(global::System.ReadOnlySpan<float> xs, ref State state, global::System.Span<float> ys)");
                _w.Line("{");
                _w.Line("int length = RunWorkspaceLength(xs.Length / InputSize);");
                _w.Line("if (length == 0)");
                _w.Line("{");
                _w.Line("Run(xs, ref state, ys, default);");
                _w.Line("return;");
                _w.Line("}");
                _w.Line();
                _w.Line("float[] rented = global::System.Buffers.ArrayPool<float>.Shared.Rent(length);");
                _w.Line("try");
                _w.Line("{");
                _w.Line("Run(xs, ref state, ys, rented);");
                _w.Line("}");
                _w.Line("finally");
                _w.Line("{");
                _w.Line("global::System.Buffers.ArrayPool<float>.Shared.Return(rented);");
                _w.Line("}");
                _w.Line("}");
                _w.Line();
                _w.Line("/// <summary>As <see cref=\"Run(global::System.ReadOnlySpan{float}, ref State, global::System.Span{float})\"/>, with a caller-owned workspace of at least <see cref=\"RunWorkspaceLength\"/> floats.</summary>");
                _w.Line("/// <exception cref=\"global::System.ArgumentException\">A span has the wrong length.</exception>");
                _w.Line("public void Run(global::System.ReadOnlySpan<float> xs, ref State state, global::System.Span<float> ys, global::System.Span<float> workspace)");
                _w.Line("{");
                _w.Line("int steps = xs.Length / InputSize;");
                _w.Line(lengthCheck("xs", "steps * InputSize", "a multiple of InputSize"));
                _w.Line(lengthCheck("ys", "steps * OutputSize", "T × OutputSize for T = xs.Length / InputSize"));
                _w.Line($"if (workspace.Length < RunWorkspaceLength(steps)) {{ {Rnn}.RnnThrow.Length(nameof(workspace), \"at least RunWorkspaceLength(steps)\", workspace.Length); }}");
                _w.Line("if (steps == 0)");
                _w.Line("{");
                _w.Line("return;");
                _w.Line("}");
                _w.Line();
                _w.Line($"ref float input = ref {MemoryMarshal}.GetReference(xs);");
                _w.Line($"ref float work = ref {MemoryMarshal}.GetReference(workspace);");
                _w.Line("int inputStride = InputSize;");
                _w.Line("for (int layer = 0; layer < LayerCount; layer++)");
                _w.Line("{");
                _w.Line(_spec.Head is null
                    ? $"ref float output = ref layer == LayerCount - 1 ? ref {MemoryMarshal}.GetReference(ys) : ref {Unsafe}.Add(ref work, (layer % 2) * steps * LayerOutputSize);"
                    : $"ref float output = ref {Unsafe}.Add(ref work, (layer % 2) * steps * LayerOutputSize);");
                _w.Line("for (int t = 0; t < steps; t++)");
                _w.Line("{");
                _w.Line("LayerStep(layer, 0, ref Unsafe_Add(ref input, t * inputStride), ref state);".Replace("Unsafe_Add", Unsafe + ".Add"));
                _w.Line($"{Unsafe}.CopyBlockUnaligned(ref {Unsafe}.As<float, byte>(ref {Unsafe}.Add(ref output, t * LayerOutputSize)), ref {Unsafe}.As<float, byte>(ref state.HiddenRef(layer * 2)), HiddenSize * sizeof(float));");
                _w.Line("}");
                _w.Line();
                _w.Line("for (int t = steps - 1; t >= 0; t--)");
                _w.Line("{");
                _w.Line($"LayerStep(layer, 1, ref {Unsafe}.Add(ref input, t * inputStride), ref state);");
                _w.Line($"{Unsafe}.CopyBlockUnaligned(ref {Unsafe}.As<float, byte>(ref {Unsafe}.Add(ref output, t * LayerOutputSize + HiddenSize)), ref {Unsafe}.As<float, byte>(ref state.HiddenRef(layer * 2 + 1)), HiddenSize * sizeof(float));");
                _w.Line("}");
                _w.Line();
                _w.Line("input = ref output;");
                _w.Line("inputStride = LayerOutputSize;");
                _w.Line("}");
                if (_spec.Head is not null)
                {
                    _w.Line();
                    _w.Line($"ref float y = ref {MemoryMarshal}.GetReference(ys);");
                    _w.Line("for (int t = 0; t < steps; t++)");
                    _w.Line("{");
                    _w.Line($"HeadStep(ref {Unsafe}.Add(ref input, t * LayerOutputSize), ref {Unsafe}.Add(ref y, t * OutputSize), ref state);");
                    _w.Line("}");
                }

                _w.Line("}");
                _w.Line();
            }

            private void EmitDispatch()
            {
                _w.Line("// One layer and direction, one time step. The kernel's tiles read all of h into the pre-activations in scratch");
                _w.Line("// before its gate math writes the new h in place.");
                _w.Line("[global::System.Runtime.CompilerServices.MethodImpl(global::System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]");
                _w.Line("private void LayerStep(int layer, int direction, ref float x, ref State state)");
                _w.Line("{");
                _w.Line("int slot = layer * DirectionCount + direction;");
                _w.Line("ref float w = ref Weights(slot);");
                _w.Line("ref float h = ref state.HiddenRef(slot);");
                _w.Line("ref float c = ref state.CellRef(slot);");
                _w.Line("ref float pre = ref state.ScratchRef();");
                EmitLayerSwitch((shape, isa) => $"{shape.Name(isa)}(ref w, ref x, ref h, ref c, ref pre);");
                _w.Line("}");
                _w.Line();
                if (_spec.Head is null || _headShape is null)
                {
                    return;
                }

                _w.Line("// The dense head on one step's top-layer output: pre-activations into scratch, then the activation into y.");
                _w.Line("private void HeadStep(ref float input, ref float y, ref State state)");
                _w.Line("{");
                _w.Line("ref float w = ref Weights(HeadBlock);");
                _w.Line("ref float z = ref state.ScratchRef();");
                EmitPathSwitch(isa => $"{_headShape.Name(isa)}(ref w, ref input, ref input, ref input, ref z);");
                string element(string expression) => _spec.Head.Activation switch
                {
                    HeadActivation.Sigmoid => $"{Rnn}.SigmoidOperator.Invoke({expression})",
                    HeadActivation.Tanh => $"{Rnn}.TanhOperator.Invoke({expression})",
                    _ => expression,
                };
                _w.Line("for (int i = 0; i < OutputSize; i++)");
                _w.Line("{");
                _w.Line($"{Unsafe}.Add(ref y, i) = {element($"{Unsafe}.Add(ref z, i)")};");
                _w.Line("}");
                if (_spec.Head.Activation == HeadActivation.Softmax)
                {
                    _w.Line();
                    _w.Line($"{Rnn}.Softmax.InPlace({MemoryMarshal}.CreateSpan(ref y, OutputSize));");
                }

                _w.Line("}");
                _w.Line();
            }

            // Layer 0 reads the model input; deeper layers read the layer below (their kernels differ in input size).
            private void EmitLayerSwitch(Func<KernelShape, Isa, string> call)
            {
                if (_layerShapes.Length == 1)
                {
                    EmitPathSwitch(isa => call(_layerShapes[0], isa));
                    return;
                }

                _w.Line("if (layer == 0)");
                _w.Line("{");
                EmitPathSwitch(isa => call(_layerShapes[0], isa));
                _w.Line("}");
                _w.Line("else");
                _w.Line("{");
                EmitPathSwitch(isa => call(_layerShapes[1], isa));
                _w.Line("}");
            }

            private void EmitTrainingApi()
            {
                string t = $"{Rnn}.ITrainableRnnModel";
                string list = "global::System.Collections.Generic.IReadOnlyList";
                string head = _spec.Head?.Activation.ToString() ?? "None";
                _w.Line($"{list}<{Rnn}.ParameterSpec> {t}.ParameterSpecs => Parameters;");
                _w.Line($"bool {t}.HasCellState => {(IsLstm ? "true" : "false")};");
                _w.Line($"bool {t}.HasHead => HasHead;");
                _w.Line($"{Rnn}.HeadActivation {t}.HeadActivation => {Rnn}.HeadActivation.{head};");
                _w.Line($"int {t}.PaddedHidden => PaddedHidden;");
                _w.Line($"int {t}.TapeStride => TapeStride;");
                _w.Line($"int {t}.TapeHiddenOffset => TapeHiddenOffset;");
                _w.Line($"int {t}.TapeCellOffset => TapeCellOffset;");
                _w.Line($"{list}<int> {t}.PackedLengths => global::System.Array.ConvertAll(_layouts, l => l.Length);");
                _w.Line();
                _w.Line($"void {t}.ForwardStep(int layer, int direction, ref float x, ref float h, ref float c, ref float tape)");
                _w.Line("{");
                _w.Line("ref float w = ref Weights(Block(layer, direction));");
                EmitLayerSwitch((shape, isa) => $"{shape.Name(isa, Variant.Record)}(ref w, ref x, ref h, ref c, ref tape);");
                _w.Line("}");
                _w.Line();
                _w.Line($"void {t}.BackwardStep(int layer, int direction, global::System.Span<float> gradient, ref float x, ref float h, ref float c, ref float tape, ref float dh, ref float dc, ref float dx, ref float dhPrev)");
                _w.Line("{");
                _w.Line("int block = Block(layer, direction);");
                _w.Line($"if (gradient.Length != _layouts[block].Length) {{ {Rnn}.RnnThrow.Length(nameof(gradient), \"the block's packed length\", gradient.Length); }}");
                _w.Line("ref float w = ref Weights(block);");
                _w.Line($"ref float g = ref {MemoryMarshal}.GetReference(gradient);");
                EmitLayerSwitch((shape, isa) => $"{shape.Name(isa, Variant.Backward)}(ref w, ref g, ref x, ref h, ref c, ref tape, ref dh, ref dc, ref dx, ref dhPrev);");
                _w.Line("}");
                _w.Line();
                _w.Line($"void {t}.HeadForward(ref float input, ref float preActivation)");
                _w.Line("{");
                if (_headShape is null)
                {
                    _w.Line("throw new global::System.InvalidOperationException(\"The model has no head.\");");
                }
                else
                {
                    _w.Line("ref float w = ref Weights(HeadBlock);");
                    EmitPathSwitch(isa => $"{_headShape.Name(isa)}(ref w, ref input, ref input, ref input, ref preActivation);");
                }

                _w.Line("}");
                _w.Line();
                _w.Line($"void {t}.HeadBackward(global::System.Span<float> gradient, ref float input, ref float dPreActivation, ref float dInput)");
                _w.Line("{");
                if (_headShape is null)
                {
                    _w.Line("throw new global::System.InvalidOperationException(\"The model has no head.\");");
                }
                else
                {
                    _w.Line($"if (gradient.Length != _layouts[HeadBlock].Length) {{ {Rnn}.RnnThrow.Length(nameof(gradient), \"the head's packed length\", gradient.Length); }}");
                    _w.Line("ref float w = ref Weights(HeadBlock);");
                    _w.Line($"ref float g = ref {MemoryMarshal}.GetReference(gradient);");
                    EmitPathSwitch(isa => $"{_headShape.Name(isa, Variant.Backward)}(ref w, ref g, ref input, ref input, ref input, ref input, ref dPreActivation, ref input, ref dInput, ref input);");
                }

                _w.Line("}");
                _w.Line();
                _w.Line("// The index of a layer and direction among blocks and state slots, checked: the public entry points take these.");
                _w.Line("private static int Block(int layer, int direction)");
                _w.Line("{");
                _w.Line("if ((uint)layer >= LayerCount)");
                _w.Line("{");
                _w.Line($"{Rnn}.RnnThrow.Index(nameof(layer), layer, LayerCount);");
                _w.Line("}");
                _w.Line();
                _w.Line("if ((uint)direction >= DirectionCount)");
                _w.Line("{");
                _w.Line($"{Rnn}.RnnThrow.Index(nameof(direction), direction, DirectionCount);");
                _w.Line("}");
                _w.Line();
                _w.Line("return layer * DirectionCount + direction;");
                _w.Line("}");
                _w.Line();
            }

            private void EmitPathSwitch(Func<Isa, string> call)
            {
                _w.Line("switch (_path)");
                _w.Line("{");
                foreach (var isa in Isa.All)
                {
                    _w.Line(isa.Lanes == 1 ? "default:" : $"case {Rnn}.KernelPath.{isa.Name}:");
                    _w.Line("    " + call(isa));
                    _w.Line("    break;");
                }

                _w.Line("}");
            }

            private void EmitKernel(Isa isa, KernelShape shape)
            {
                EmitLayerLoop(isa, shape, Variant.Inference);
                if (shape.Prefix != "Head")
                {
                    EmitLayerLoop(isa, shape, Variant.Record);
                }

                EmitLayerLoop(isa, shape, Variant.Backward);
            }

            private static string Parameters(Variant variant) => variant switch
            {
                Variant.Backward => "ref float w, ref float g, ref float x, ref float h, ref float c, ref float tape, ref float dh, ref float dc, ref float dx, ref float dhPrev",
                Variant.Record => "ref float w, ref float x, ref float h, ref float c, ref float tape",
                _ => "ref float w, ref float x, ref float h, ref float c, ref float hNew",
            };

            private static string Arguments(Variant variant, string w, string g) => variant switch
            {
                Variant.Backward => $"ref {w}, ref {g}, ref x, ref h, ref c, ref tape, ref dh, ref dc, ref dx, ref dhPrev",
                Variant.Record => $"ref {w}, ref x, ref h, ref c, ref tape",
                _ => $"ref {w}, ref x, ref h, ref c, ref hNew",
            };

            // Runs the tiles of one layer (or the head) in order; the remainder tile has fewer chunks.
            private void EmitLayerLoop(Isa isa, KernelShape shape, Variant variant)
            {
                int chunks = (shape.Units + isa.Lanes - 1) / isa.Lanes;
                int perTile = isa.ChunksPerTile(shape.Slots.Length, shape.Units);
                int fullTiles = chunks / perTile;
                int remainder = chunks % perTile;
                int tileLength = shape.TileLength(isa, perTile);
                string Offset(string tiles) => $"{Unsafe}.Add(ref w, {tiles})";
                string GradOffset(string tiles) => $"{Unsafe}.Add(ref g, {tiles})";
                // Inference: the tiles only stream weights into accumulators and store them; rolled loops then apply the
                // gate math to every chunk (EmitGateMath). Fewer live vectors than fusing it into each tile (no spills).
                bool splitGates = variant == Variant.Inference && shape.Prefix == "Layer";
                string Call(string w, string g, string unit) =>
                    splitGates ? $"ref {w}, ref x, ref h, ref c, ref pre, {unit}" : $"{Arguments(variant, w, g)}, {unit}";
                // A layer's inference kernel takes the scratch for its pre-activations and updates h (and c) in place.
                string parameters = splitGates ? "ref float w, ref float x, ref float h, ref float c, ref float pre" : Parameters(variant);
                _w.Line($"private static void {shape.Name(isa, variant)}({parameters})");
                _w.Line("{");

                if (fullTiles == 1)
                {
                    _w.Line($"{shape.TileName(isa, perTile, variant)}({Call("w", "g", "0")});");
                }
                else if (fullTiles > 1)
                {
                    _w.Line($"for (nuint tile = 0; tile < {Int(fullTiles)}; tile++)");
                    _w.Line("{");
                    string at = $"tile * {Int(tileLength)}";
                    _w.Line($"{shape.TileName(isa, perTile, variant)}({Call(Offset(at), GradOffset(at), $"tile * {Int(perTile * isa.Lanes)}")});");
                    _w.Line("}");
                }

                if (remainder > 0)
                {
                    string at = Int(fullTiles * tileLength);
                    _w.Line($"{shape.TileName(isa, remainder, variant)}({Call(Offset(at), GradOffset(at), Int(fullTiles * perTile * isa.Lanes))});");
                }

                if (splitGates)
                {
                    EmitGateMath(isa, chunks * isa.Lanes);
                }

                _w.Line("}");
                _w.Line();
                EmitTile(isa, shape, perTile, variant);
                if (remainder > 0)
                {
                    EmitTile(isa, shape, remainder, variant);
                }
            }

            // Inference gate math after the tiles, on the pre-activations in pre (slot s at s·PaddedHidden): one rolled
            // loop per activation, so each loop holds one activation's constants and temporaries (no spills) and its
            // iterations are independent for the out-of-order core; then one loop combines the gates into c and h, in
            // place (every tile has read the old h by now).
            private void EmitGateMath(Isa isa, int units)
            {
                void Loop(params string[] body)
                {
                    _w.Line($"for (nuint unit = 0; unit < {Int(units)}; unit += {Int(isa.Lanes)})");
                    _w.Line("{");
                    foreach (string line in body)
                    {
                        _w.Line(line);
                    }

                    _w.Line("}");
                }

                string at(int slot) => $"unit + {Int(slot * PaddedHidden)}";
                string pre(int slot) => isa.Load("pre", at(slot));
                void InPlace(string op, int slot) => Loop(isa.Store($"{Rnn}.{op}.Invoke({pre(slot)})", "pre", at(slot)));
                switch (_spec.Cell)
                {
                    case CellKind.Lstm:
                        InPlace("SigmoidOperator", 0);
                        InPlace("SigmoidOperator", 1);
                        InPlace("TanhOperator", 2);
                        InPlace("SigmoidOperator", 3);
                        Loop(
                            $"var cNew = {pre(1)} * {isa.Load("c", "unit")} + {pre(0)} * {pre(2)};",
                            isa.Store("cNew", "c", "unit"),
                            isa.Store($"{pre(3)} * {Rnn}.TanhOperator.Invoke(cNew)", "h", "unit"));
                        break;
                    case CellKind.Gru:
                        InPlace("SigmoidOperator", 0);
                        InPlace("SigmoidOperator", 1);
                        Loop(
                            $"var z = {pre(1)};",
                            $"var n = {Rnn}.TanhOperator.Invoke({pre(2)} + {pre(0)} * {pre(3)});",
                            isa.Store($"({isa.One} - z) * n + z * {isa.Load("h", "unit")}", "h", "unit"));
                        break;
                    default:
                        string activated = _spec.Activation switch
                        {
                            RecurrentActivation.Relu => $"{Rnn}.ReluOperator.Invoke({pre(0)})",
                            RecurrentActivation.LeakyRelu => $"{Rnn}.LeakyReluOperator.Invoke({pre(0)}, {Float(_spec.NegativeSlope)})",
                            _ => $"{Rnn}.TanhOperator.Invoke({pre(0)})",
                        };
                        Loop(isa.Store(activated, "h", "unit"));
                        break;
                }
            }

            private void EmitTile(Isa isa, KernelShape shape, int chunks, Variant variant)
            {
                _w.Line($"private static void {shape.TileName(isa, chunks, variant)}({Parameters(variant)}, nuint unit)");
                _w.Line("{");
                var slots = shape.Slots;
                var inputSlots = Enumerable.Range(0, slots.Length).Where(s => slots[s].InputBlock >= 0).ToArray();
                var recurrentSlots = Enumerable.Range(0, slots.Length).Where(s => slots[s].RecurrentBlock >= 0).ToArray();
                int biasLength = chunks * slots.Length * isa.Lanes;
                int recurrentOffset = biasLength + shape.Input * chunks * inputSlots.Length * isa.Lanes;
                if (variant == Variant.Backward)
                {
                    for (int k = 0; k < chunks; k++)
                    {
                        EmitPointwiseBackward(isa, shape, k);
                    }

                    for (int k = 0; k < chunks; k++)
                    {
                        for (int s = 0; s < slots.Length; s++)
                        {
                            string at = Int((k * slots.Length + s) * isa.Lanes);
                            _w.Line(isa.Store($"{isa.Load("g", at)} + d{Int(k)}_{Int(s)}", "g", at));
                        }
                    }

                    EmitColumns(isa, "x", "dx", shape.Input, inputSlots, chunks, biasLength, backward: true);
                    if (shape.Recurrent > 0)
                    {
                        EmitColumns(isa, "h", "dhPrev", shape.Recurrent, recurrentSlots, chunks, recurrentOffset, backward: true);
                    }
                }
                else
                {
                    // Accumulators start at the bias, then every input and recurrent column is streamed once.
                    for (int k = 0; k < chunks; k++)
                    {
                        for (int s = 0; s < slots.Length; s++)
                        {
                            _w.Line($"var a{Int(k)}_{Int(s)} = {isa.Load("w", Int((k * slots.Length + s) * isa.Lanes))};");
                        }
                    }

                    EmitColumns(isa, "x", null, shape.Input, inputSlots, chunks, biasLength, backward: false);
                    if (shape.Recurrent > 0)
                    {
                        // Small tiles are latency-bound: the recurrent columns are one FMA chain per accumulator, on the
                        // step-to-step critical path. Spread them over independent partial sums while registers allow.
                        int sets = 1;
                        while (sets < 4 && 2 * sets <= shape.Recurrent &&
                               chunks * (slots.Length + (2 * sets - 1) * recurrentSlots.Length) <= TargetAccumulators)
                        {
                            sets *= 2;
                        }

                        for (int set = 1; set < sets; set++)
                        {
                            for (int k = 0; k < chunks; k++)
                            {
                                foreach (int r in recurrentSlots)
                                {
                                    _w.Line($"var {PartialSum(set)}{Int(k)}_{Int(r)} = {isa.Zero};");
                                }
                            }
                        }

                        EmitColumns(isa, "h", null, shape.Recurrent, recurrentSlots, chunks, recurrentOffset, backward: false, sets);
                        for (int k = 0; k < chunks; k++)
                        {
                            foreach (int r in recurrentSlots)
                            {
                                string name(int set) => $"{PartialSum(set)}{Int(k)}_{Int(r)}";
                                if (sets == 2)
                                {
                                    _w.Line($"{name(0)} += {name(1)};");
                                }
                                else if (sets == 4)
                                {
                                    _w.Line($"{name(0)} = ({name(0)} + {name(1)}) + ({name(2)} + {name(3)});");
                                }
                            }
                        }
                    }

                    for (int k = 0; k < chunks; k++)
                    {
                        if (variant == Variant.Inference && shape.Prefix == "Layer")
                        {
                            // hNew is the pre-activation buffer here (see EmitLayerLoop).
                            for (int s = 0; s < slots.Length; s++)
                            {
                                _w.Line(isa.Store($"a{Int(k)}_{Int(s)}", "hNew", $"unit + {Int(k * isa.Lanes + s * PaddedHidden)}"));
                            }
                        }
                        else
                        {
                            EmitPointwise(isa, shape, k);
                        }
                    }
                }

                _w.Line("}");
                _w.Line();
            }

            // Column loops: fully unrolled up to FullUnrollLimit columns, else unrolled by UnrollFactor with the
            // remainder written out. Forward: a += W·x[j]. Backward: G += d·x[j] and dx[j] += Σ W·d.
            private void EmitColumns(Isa isa, string source, string? target, int columns, int[] slots, int chunks, int offset, bool backward, int sets = 1)
            {
                int stride = chunks * slots.Length * isa.Lanes;
                var streams = backward ? new[] { "w", "g" } : new[] { "w" };
                foreach (string stream in streams)
                {
                    _w.Line($"ref float {stream}{source} = ref {Unsafe}.Add(ref {stream}, {Int(offset)});");
                }

                // Column j accumulates into partial-sum set j % sets (UnrollFactor is a multiple of sets).
                void Column(string index, string suffix, int at, int column)
                {
                    if (backward)
                    {
                        EmitBackwardColumn(isa, source, target!, index, "w" + suffix, "g" + suffix, at, slots, chunks);
                    }
                    else
                    {
                        EmitColumn(isa, source, index, "w" + suffix, at, slots, chunks, PartialSum(column % sets));
                    }
                }

                if (columns <= FullUnrollLimit)
                {
                    for (int j = 0; j < columns; j++)
                    {
                        Column(Int(j), source, j * stride, j);
                    }

                    return;
                }

                int main = columns - columns % UnrollFactor;
                _w.Line($"for (nuint j = 0; j < {Int(main)}; j += {Int(UnrollFactor)})");
                _w.Line("{");
                foreach (string stream in streams)
                {
                    _w.Line($"ref float {stream}j = ref {Unsafe}.Add(ref {stream}{source}, j * {Int(stride)});");
                }

                for (int u = 0; u < UnrollFactor; u++)
                {
                    Column($"j + {Int(u)}", "j", u * stride, u);
                }

                _w.Line("}");
                for (int j = main; j < columns; j++)
                {
                    Column(Int(j), source, j * stride, j);
                }
            }

            // Accumulator names: set 0 is the a{k}_{s} the tile returns; further sets are partial sums added into it.
            private static string PartialSum(int set) => set == 0 ? "a" : $"p{Int(set)}_";

            private void EmitColumn(Isa isa, string source, string index, string weights, int offset, int[] slots, int chunks, string accumulator)
            {
                _w.Line("{");
                _w.Line($"var b = {isa.Broadcast($"{Unsafe}.Add(ref {source}, {index})")};");
                int position = offset;
                for (int k = 0; k < chunks; k++)
                {
                    foreach (int s in slots)
                    {
                        string a = $"{accumulator}{Int(k)}_{Int(s)}";
                        _w.Line($"{a} = {isa.Fma(isa.Load(weights, Int(position)), "b", a)};");
                        position += isa.Lanes;
                    }
                }

                _w.Line("}");
            }

            private void EmitBackwardColumn(Isa isa, string source, string target, string index, string weights, string gradients, int offset, int[] slots, int chunks)
            {
                _w.Line("{");
                _w.Line($"var b = {isa.Broadcast($"{Unsafe}.Add(ref {source}, {index})")};");
                int position = offset;
                bool first = true;
                for (int k = 0; k < chunks; k++)
                {
                    foreach (int s in slots)
                    {
                        string d = $"d{Int(k)}_{Int(s)}";
                        string at = Int(position);
                        _w.Line(isa.Store(isa.Fma(d, "b", isa.Load(gradients, at)), gradients, at));
                        _w.Line(first ? $"var sum = {isa.Load(weights, at)} * {d};" : $"sum = {isa.Fma(isa.Load(weights, at), d, "sum")};");
                        first = false;
                        position += isa.Lanes;
                    }
                }

                _w.Line($"{Unsafe}.Add(ref {target}, {index}) += {isa.Sum("sum")};");
                _w.Line("}");
            }

            // Training's forward (record) gate math on one chunk of accumulators, fused into the tile: writes what backward
            // needs to the tape, h_t and c_t included (inference runs EmitGateMath after its tiles instead). The head's
            // tiles just store their outputs.
            private void EmitPointwise(Isa isa, KernelShape shape, int k)
            {
                string a(int s) => $"a{Int(k)}_{Int(s)}";
                string unit = $"unit + {Int(k * isa.Lanes)}";
                string tape(int slot) => $"unit + {Int(k * isa.Lanes + slot * PaddedHidden)}";
                string sigmoid(string v) => $"{Rnn}.SigmoidOperator.Invoke({v})";
                string tanh(string v) => $"{Rnn}.TanhOperator.Invoke({v})";
                string hOut(string value) => isa.Store(value, "tape", tape(TapeHiddenSlot));
                _w.Line("{");
                if (shape.Prefix == "Head")
                {
                    _w.Line(isa.Store(a(0), "hNew", unit));
                    _w.Line("}");
                    return;
                }

                switch (_spec.Cell)
                {
                    case CellKind.Lstm:
                        _w.Line($"var i = {sigmoid(a(0))};");
                        _w.Line($"var f = {sigmoid(a(1))};");
                        _w.Line($"var g = {tanh(a(2))};");
                        _w.Line($"var o = {sigmoid(a(3))};");
                        _w.Line($"var cNew = f * {isa.Load("c", unit)} + i * g;");
                        _w.Line(isa.Store("i", "tape", tape(0)));
                        _w.Line(isa.Store("f", "tape", tape(1)));
                        _w.Line(isa.Store("g", "tape", tape(2)));
                        _w.Line(isa.Store("o", "tape", tape(3)));
                        _w.Line(isa.Store("cNew", "tape", tape(4)));
                        _w.Line(hOut($"o * {tanh("cNew")}"));
                        break;
                    case CellKind.Gru:
                        _w.Line($"var r = {sigmoid(a(0))};");
                        _w.Line($"var z = {sigmoid(a(1))};");
                        _w.Line($"var n = {tanh($"{a(2)} + r * {a(3)}")};");
                        _w.Line(isa.Store("r", "tape", tape(0)));
                        _w.Line(isa.Store("z", "tape", tape(1)));
                        _w.Line(isa.Store("n", "tape", tape(2)));
                        _w.Line(isa.Store(a(3), "tape", tape(3)));
                        _w.Line(hOut($"({isa.One} - z) * n + z * {isa.Load("h", unit)}"));
                        break;
                    default:
                        string activated = _spec.Activation switch
                        {
                            RecurrentActivation.Relu => $"{Rnn}.ReluOperator.Invoke({a(0)})",
                            RecurrentActivation.LeakyRelu => $"{Rnn}.LeakyReluOperator.Invoke({a(0)}, {Float(_spec.NegativeSlope)})",
                            _ => tanh(a(0)),
                        };
                        _w.Line(hOut(activated));
                        break;
                }

                _w.Line("}");
            }

            // dL/d(pre-activation) per slot for one chunk, from dh (and dc) and the tape: the derivative of
            // EmitPointwise. LSTM leaves dL/dc_{t-1} in dc; GRU adds its direct z·dh term to dhPrev.
            private void EmitPointwiseBackward(Isa isa, KernelShape shape, int k)
            {
                string unit = $"unit + {Int(k * isa.Lanes)}";
                string tape(int slot) => isa.Load("tape", $"unit + {Int(k * isa.Lanes + slot * PaddedHidden)}");
                string one = isa.One;
                string d(int s) => $"d{Int(k)}_{Int(s)}";
                if (shape.Prefix == "Head")
                {
                    _w.Line($"var {d(0)} = {isa.Load("dh", unit)};");
                    return;
                }

                string kk = Int(k);
                _w.Line($"var dh{kk} = {isa.Load("dh", unit)};");
                switch (_spec.Cell)
                {
                    case CellKind.Lstm:
                        _w.Line($"var i{kk} = {tape(0)};");
                        _w.Line($"var f{kk} = {tape(1)};");
                        _w.Line($"var g{kk} = {tape(2)};");
                        _w.Line($"var o{kk} = {tape(3)};");
                        _w.Line($"var tc{kk} = {Rnn}.TanhOperator.Invoke({tape(4)});");
                        _w.Line($"var dc{kk} = {isa.Load("dc", unit)} + dh{kk} * o{kk} * ({one} - tc{kk} * tc{kk});");
                        _w.Line($"var {d(0)} = dc{kk} * g{kk} * i{kk} * ({one} - i{kk});");
                        _w.Line($"var {d(1)} = dc{kk} * {isa.Load("c", unit)} * f{kk} * ({one} - f{kk});");
                        _w.Line($"var {d(2)} = dc{kk} * i{kk} * ({one} - g{kk} * g{kk});");
                        _w.Line($"var {d(3)} = dh{kk} * tc{kk} * o{kk} * ({one} - o{kk});");
                        _w.Line(isa.Store($"dc{kk} * f{kk}", "dc", unit));
                        break;
                    case CellKind.Gru:
                        _w.Line($"var r{kk} = {tape(0)};");
                        _w.Line($"var z{kk} = {tape(1)};");
                        _w.Line($"var n{kk} = {tape(2)};");
                        _w.Line($"var dn{kk} = dh{kk} * ({one} - z{kk}) * ({one} - n{kk} * n{kk});");
                        _w.Line($"var {d(0)} = dn{kk} * {tape(3)} * r{kk} * ({one} - r{kk});");
                        _w.Line($"var {d(1)} = dh{kk} * ({isa.Load("h", unit)} - n{kk}) * z{kk} * ({one} - z{kk});");
                        _w.Line($"var {d(2)} = dn{kk};");
                        _w.Line($"var {d(3)} = dn{kk} * r{kk};");
                        _w.Line(isa.Store($"{isa.Load("dhPrev", unit)} + dh{kk} * z{kk}", "dhPrev", unit));
                        break;
                    default:
                        _w.Line($"var h{kk} = {tape(0)};");
                        _w.Line(_spec.Activation switch
                        {
                            RecurrentActivation.Relu => $"var {d(0)} = {isa.SelectPositive($"h{kk}", $"dh{kk}", isa.Zero)};",
                            RecurrentActivation.LeakyRelu => $"var {d(0)} = {isa.SelectPositive($"h{kk}", $"dh{kk}", $"dh{kk} * {Float(_spec.NegativeSlope)}")};",
                            _ => $"var {d(0)} = dh{kk} * ({one} - h{kk} * h{kk});",
                        });
                        break;
                }
            }
        }
    }
}
