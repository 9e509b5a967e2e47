using System;
using System.Linq;
using Embedded.Rnn.Generator.Model;

namespace Embedded.Rnn.Generator.Emit;

/// <summary>
/// Inference in the kernels class: <c>Step</c>, the multi-stream <c>Step</c> and <c>Run</c> behind their argument checks
/// (bidirectional models: <c>Run</c> with a workspace), one step through the layers and the head, the dispatch to the
/// path's kernels, and those kernels (the multi-stream ones: <c>TileEmitter.Streams.cs</c>).
/// </summary>
internal sealed class InferenceEmitter(ModelFacts model, SourceWriter writer)
{
    private readonly ModelFacts _model = model;
    private readonly SourceWriter _w = writer;
    private readonly TileEmitter _tiles = new(model, writer);

    private ModelSpec Spec => _model.Spec;

    public void Emit()
    {
        if (Spec.Bidirectional)
        {
            EmitBidirectionalRun();
        }
        else
        {
            EmitStepAndRun();
        }

        EmitLayerStep();
        EmitHeadStep();
        foreach (var width in VectorWidth.All)
        {
            foreach (var shape in _model.LayerShapes)
            {
                _tiles.EmitKernel(shape, width, KernelVariant.Inference);
            }

            if (!Spec.Bidirectional)
            {
                EmitStreamGroups(width);
                foreach (var shape in _model.LayerShapes)
                {
                    _tiles.EmitStreamsKernel(shape, width);
                }
            }

            if (_model.ProjectsInputs && width.Name == ModelFacts.ProjectionWidth.Name)
            {
                EmitRunProjected(width);
                _tiles.EmitProjectKernel(_model.LayerShapes[0], width);
                _tiles.EmitKernel(_model.LayerShapes[0], width, KernelVariant.Projected);
            }

            if (_model.SecondPassShape is not null)
            {
                _tiles.EmitTiles(_model.SecondPassShape, width, KernelVariant.Inference);
            }

            if (_model.HeadShape is not null)
            {
                _tiles.EmitKernel(_model.HeadShape, width, KernelVariant.Inference);
            }
        }
    }

    private void EmitStepAndRun()
    {
        _w.Lines($$"""
            // Step and Run behind their argument checks: one step through every layer (StepCore) at a time.
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public static void Step(PackedWeights weights, ReadOnlySpan<float> x, ref Model.State state, Span<float> y)
            {
                if (x.Length != Model.InputSize) { RnnThrow.Length(nameof(x), Model.InputSize, "InputSize", x.Length); }
                if (y.Length != Model.OutputSize) { RnnThrow.Length(nameof(y), Model.OutputSize, "OutputSize", y.Length); }
                StepCore(weights, ref MemoryMarshal.GetReference(x), ref state.Values, ref MemoryMarshal.GetReference(y));
            }

            public static void Run(PackedWeights weights, ReadOnlySpan<float> xs, ref Model.State state, Span<float> ys)
            {
                {{SequenceLengthChecks}}
                // {{RunInPlaceReason}}
                RnnThrow.IfOverlapping(xs, ys, inPlace: {{Literals.Bool(Spec.RunsInPlace)}});
                ref float x = ref MemoryMarshal.GetReference(xs);
                ref float y = ref MemoryMarshal.GetReference(ys);
                ref float values = ref state.Values;
            """);
        using (_w.Indent())
        {
            if (_model.ProjectsInputs)
            {
                var width = ModelFacts.ProjectionWidth;
                _w.Line($"// On {width.Name}, whole groups of steps from their input projections; then the last steps (on other paths, all) one at a time.");
                _w.Line($"int t = weights.Path == KernelPath.{width.Name} ? RunProjected_{width.Name}(weights, ref x, ref values, ref y, steps) : 0;");
            }

            _w.Line(_model.ProjectsInputs ? "for (; t < steps; t++)" : "for (int t = 0; t < steps; t++)");
        }

        _w.Lines($$"""
                {
                    StepCore(weights, ref Unsafe.Add(ref x, t * Model.InputSize), ref values, ref Unsafe.Add(ref y, t * Model.OutputSize));
                }
            }

            // Step for many streams (stream s: xs[s × InputSize ..], states[s], ys[s × OutputSize ..]): groups of the path's
            // stream count through its streams kernels, each weight read once per group; the remaining streams one at a time.
            public static void Step(PackedWeights weights, ReadOnlySpan<float> xs, Span<Model.State> states, Span<float> ys)
            {
                int streams = states.Length;
                if (xs.Length != (long)streams * Model.InputSize) { RnnThrow.Length(nameof(xs), (long)streams * Model.InputSize, "states.Length × InputSize", xs.Length); }
                if (ys.Length != (long)streams * Model.OutputSize) { RnnThrow.Length(nameof(ys), (long)streams * Model.OutputSize, "states.Length × OutputSize", ys.Length); }
                // {{StreamsInPlaceReason}}
                RnnThrow.IfOverlapping(xs, ys, inPlace: {{Literals.Bool(Spec.StreamsRunInPlace)}});
                if (streams == 0)
                {
                    return;
                }

                ref float x = ref MemoryMarshal.GetReference(xs);
                ref float values = ref MemoryMarshal.GetReference(states).Values;
                ref float y = ref MemoryMarshal.GetReference(ys);
                int done;
            """);
        using (_w.Indent())
        {
            PathSwitch(width => $"done = StreamGroups_{width.Name}(weights, ref x, Model.InputSize, ref values, ref y, Model.OutputSize, streams);");
            _w.Lines("""
                for (int stream = done; stream < streams; stream++)
                {
                    StepCore(weights, ref Unsafe.Add(ref x, stream * Model.InputSize), ref Unsafe.Add(ref values, (nint)stream * StateLength), ref Unsafe.Add(ref y, stream * Model.OutputSize));
                }
                """);
        }

        _w.Line("}");
        _w.Line();
        _w.Lines($$"""
            // Run for many sequences of one length T (sequence s: xs[s × T × InputSize ..], states[s], ys[s × T × OutputSize ..]):
            // each step advances the groups of sequences as the multi-stream Step does; the remaining sequences run alone.
            public static void Run(PackedWeights weights, ReadOnlySpan<float> xs, Span<Model.State> states, Span<float> ys)
            {
                int streams = states.Length;
                int steps = streams == 0 ? 0 : xs.Length / streams / Model.InputSize;
                if (xs.Length != (long)streams * steps * Model.InputSize) { RnnThrow.LengthMultiple(nameof(xs), (long)streams * Model.InputSize, "states.Length × InputSize: T steps of each sequence", xs.Length); }
                if (ys.Length != (long)streams * steps * Model.OutputSize) { RnnThrow.Length(nameof(ys), (long)streams * steps * Model.OutputSize, "states.Length × T × OutputSize for T = xs.Length / (states.Length × InputSize)", ys.Length); }
                // {{StreamsInPlaceReason}}
                RnnThrow.IfOverlapping(xs, ys, inPlace: {{Literals.Bool(Spec.StreamsRunInPlace)}});
                if (steps == 0)
                {
                    return;
                }

                ref float x = ref MemoryMarshal.GetReference(xs);
                ref float values = ref MemoryMarshal.GetReference(states).Values;
                ref float y = ref MemoryMarshal.GetReference(ys);
                nuint xStride = (nuint)steps * Model.InputSize;
                nuint yStride = (nuint)steps * Model.OutputSize;
                int done = 0;
                for (int t = 0; t < steps; t++)
                {
                    ref float xt = ref Unsafe.Add(ref x, t * Model.InputSize);
                    ref float yt = ref Unsafe.Add(ref y, t * Model.OutputSize);
            """);
        using (_w.Indent())
        using (_w.Indent())
        {
            PathSwitch(width => $"done = StreamGroups_{width.Name}(weights, ref xt, xStride, ref values, ref yt, yStride, streams);");
        }

        _w.Lines("""
                }

                for (int stream = done; stream < streams; stream++)
                {
                    ref float sequence = ref Unsafe.Add(ref values, (nint)stream * StateLength);
                    for (int t = 0; t < steps; t++)
                    {
                        StepCore(weights, ref Unsafe.Add(ref x, (nuint)stream * xStride + (nuint)(t * Model.InputSize)), ref sequence, ref Unsafe.Add(ref y, (nuint)stream * yStride + (nuint)(t * Model.OutputSize)));
                    }
                }
            }

            """);
        using (_w.Open("private static void StepCore(PackedWeights weights, ref float x, ref float values, ref float y)"))
        {
            if (Spec.Layers > 1)
            {
                _w.Line("// Each layer reads the new h of the layer below, already in the state.");
            }

            _w.Line("LayerStep(weights, 0, ref x, ref values);");
            for (int layer = 1; layer < Spec.Layers; layer++)
            {
                string below = layer == 1 ? "values" : $"Unsafe.Add(ref values, {Literals.Int((layer - 1) * _model.PaddedHidden)})";
                _w.Line($"LayerStep(weights, {Literals.Int(layer)}, ref {below}, ref values);");
            }

            _w.Line("Output(weights, ref values, ref y);");
        }

        _w.Line();
        string top = Spec.Layers == 1 ? "ref values" : $"ref Unsafe.Add(ref values, {Literals.Int((Spec.Layers - 1) * _model.PaddedHidden)})";
        _w.Line(Spec.Head is null ? "// One step's output: the top layer's new h." : "// One step's output: the head on the top layer's new h.");
        _w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
        using (_w.Open("private static void Output(PackedWeights weights, ref float values, ref float y)"))
        {
            _w.Line(Spec.Head is null
                ? $"Unsafe.CopyBlockUnaligned(ref Unsafe.As<float, byte>(ref y), ref Unsafe.As<float, byte>({top}), Model.HiddenSize * sizeof(float));"
                : $"HeadStep(weights, {top}, ref y, ref values);");
        }

        _w.Line();
    }

    // A single sequence's Run (one direction or both): T from xs, which must hold whole steps, and ys one output per step.
    // Spliced into the Run templates, so its later lines carry the templates' body indentation.
    private const string SequenceLengthChecks = """
        int steps = xs.Length / Model.InputSize;
            if (xs.Length != steps * Model.InputSize) { RnnThrow.LengthMultiple(nameof(xs), Model.InputSize, "InputSize", xs.Length); }
            if (ys.Length != (long)steps * Model.OutputSize) { RnnThrow.Length(nameof(ys), (long)steps * Model.OutputSize, "T × OutputSize for T = xs.Length / InputSize", ys.Length); }
        """;

    // Why Run may or may not write ys over xs (ModelSpec.RunsInPlace), for the comment above its check.
    private string RunInPlaceReason =>
        Spec.RunsInPlace ? "In place (ys starting at xs) is safe: each step's output lands only on inputs read already."
        : Spec.RunReadsInputsTwice ? "Never in place: the forward pass writes ys, then the backward pass reads xs again."
        : "Never in place: OutputSize > InputSize, so step t's output would reach the inputs of later steps.";

    // Why the multi-stream Step and Run may or may not (ModelSpec.StreamsRunInPlace).
    private string StreamsInPlaceReason =>
        Spec.StreamsRunInPlace ? "In place (ys starting at xs) is safe: each stream's output lands on its own inputs, read already."
        : "Never in place: OutputSize ≠ InputSize, so a stream's output would land on another stream's inputs.";

    // One path's groups of streams: every layer through its streams kernel, then each stream's output. Returns the streams done.
    private void EmitStreamGroups(VectorWidth width)
    {
        int streams = TileEmitter.Streams(width);
        bool cell = _model.Cell.HasCellState;
        _w.Line($"// Streams {Literals.Int(streams)} at a time on {width.Name} (stream s reads x + s·xStride, writes y + s·yStride): each layer for the group at once, then each stream's output; returns how many streams it advanced.");
        using (_w.Open($"private static int StreamGroups_{width.Name}(PackedWeights weights, ref float x, nuint xStride, ref float values, ref float y, nuint yStride, int streams)"))
        {
            _w.Line("int stream = 0;");
            using (_w.Open($"for (; stream + {Literals.Int(streams)} <= streams; stream += {Literals.Int(streams)})"))
            {
                _w.Line("ref float group = ref Unsafe.Add(ref values, (nint)stream * StateLength);");
                for (int layer = 0; layer < Spec.Layers; layer++)
                {
                    var shape = _model.LayerShapes[Math.Min(layer, _model.LayerShapes.Length - 1)];
                    string input = layer == 0 ? "ref Unsafe.Add(ref x, (nuint)stream * xStride), xStride"
                        : layer == 1 ? "ref group, StateLength"
                        : $"ref Unsafe.Add(ref group, {Literals.Int((layer - 1) * _model.PaddedHidden)}), StateLength";
                    string h = layer == 0 ? "ref group" : $"ref Unsafe.Add(ref group, {Literals.Int(layer * _model.PaddedHidden)})";
                    string c = !cell ? string.Empty : layer == 0 ? "ref Unsafe.Add(ref group, CellOffset), " : $"ref Unsafe.Add(ref group, CellOffset + {Literals.Int(layer * _model.PaddedHidden)}), ";
                    _w.Line($"{shape.StreamsName(width)}({VectorWidth.BlockReference(_model.Spec.Storage, "weights", Literals.Int(layer))}, {input}, {h}, {c}ref Unsafe.Add(ref group, ScratchOffset));");
                }

                using (_w.Open($"for (int member = 0; member < {Literals.Int(streams)}; member++)"))
                {
                    _w.Line("Output(weights, ref Unsafe.Add(ref group, member * StateLength), ref Unsafe.Add(ref y, (nuint)(stream + member) * yStride));");
                }
            }

            _w.Line("return stream;");
        }

        _w.Line();
    }

    // One path's time-batched Run: the first layer's input projections of a group of steps at once, then each step from
    // its projection (deeper layers and the head as in StepCore). Returns the steps done: whole groups.
    private void EmitRunProjected(VectorWidth width)
    {
        var shape = _model.LayerShapes[0];
        int group = ModelFacts.ProjectionSteps;
        bool cell = _model.Cell.HasCellState;
        _w.Line($"// Run on {width.Name}, {Literals.Int(group)} steps at a time: the first layer's input projections (bias + W_ih·x) of the group's steps at once, each input weight vector read once for them, then each step from its projection; returns the steps done.");
        using (_w.Open($"private static int RunProjected_{width.Name}(PackedWeights weights, ref float x, ref float values, ref float y, int steps)"))
        {
            _w.Line($"Span<float> projections = stackalloc float[{Literals.Int(group)} * ProjectionLength];");
            _w.Line("ref float first = ref MemoryMarshal.GetReference(projections);");
            _w.Line($"ref Weight w = {VectorWidth.BlockReference(Spec.Storage, "weights", "0")};");
            _w.Line("ref float h = ref values;");
            if (cell)
            {
                _w.Line("ref float c = ref Unsafe.Add(ref values, CellOffset);");
            }

            if (_tiles.TakesPre(shape, width, KernelVariant.Projected))
            {
                _w.Line("ref float pre = ref Unsafe.Add(ref values, ScratchOffset);");
            }

            _w.Line("int t = 0;");
            using (_w.Open($"for (; t + {Literals.Int(group)} <= steps; t += {Literals.Int(group)})"))
            {
                _w.Line($"{shape.ProjectName(width)}(ref w, ref Unsafe.Add(ref x, t * Model.InputSize), ref first);");
                using (_w.Open($"for (int n = 0; n < {Literals.Int(group)}; n++)"))
                {
                    _w.Line("ref float proj = ref Unsafe.Add(ref first, n * ProjectionLength);");
                    if (_tiles.TakesReversed(shape, width, KernelVariant.Projected))
                    {
                        // t is a multiple of the group, so n's parity is the step's.
                        _w.Line("bool reversed = (n & 1) == 1;");
                    }

                    _w.Line($"{shape.Name(width, KernelVariant.Projected)}({_tiles.Arguments(shape, width, KernelVariant.Projected)});");
                    for (int layer = 1; layer < Spec.Layers; layer++)
                    {
                        string below = layer == 1 ? "values" : $"Unsafe.Add(ref values, {Literals.Int((layer - 1) * _model.PaddedHidden)})";
                        _w.Line($"LayerStep(weights, {Literals.Int(layer)}, ref {below}, ref values);");
                    }

                    _w.Line("Output(weights, ref values, ref Unsafe.Add(ref y, (t + n) * Model.OutputSize));");
                }
            }

            _w.Line("return t;");
        }

        _w.Line();
    }

    private void EmitBidirectionalRun()
    {
        int buffers = _model.RunBuffers;
        // The used part only (the first RunWorkspaceLength(steps) floats), not the whole span: a larger workspace may
        // share an array with xs or ys past that part. A model with no buffers never touches it, so has nothing to check.
        string workspaceCheck = buffers == 0 ? "" : """

                // The workspace is written while xs is still to be read, and read while ys is written: its used part must overlap neither.
                RnnThrow.IfWorkspaceOverlapping(xs, ys, workspace.Slice(0, RunWorkspaceLength(steps)));
            """;
        string output = Spec.Head is null
            ? "ref float output = ref layer == Model.LayerCount - 1 ? ref MemoryMarshal.GetReference(ys) : ref Unsafe.Add(ref work, (layer % 2) * steps * Model.LayerOutputSize);"
            : "ref float output = ref Unsafe.Add(ref work, (layer % 2) * steps * Model.LayerOutputSize);";
        if (buffers == 0)
        {
            _w.Lines("""
                // One layer without a head writes straight into ys: no workspace.
                public static int RunWorkspaceLength(int steps)
                {
                    ArgumentOutOfRangeException.ThrowIfNegative(steps);
                    return 0;
                }

                public static void Run(PackedWeights weights, ReadOnlySpan<float> xs, ref Model.State state, Span<float> ys) => Run(weights, xs, ref state, ys, default);

                """);
        }
        else
        {
            _w.Lines($$"""
                // {{ModelFacts.Plural(buffers, "buffer")}} of T × LayerOutputSize floats (a negative or overflowing T is refused, not wrapped).
                public static int RunWorkspaceLength(int steps)
                {
                    ArgumentOutOfRangeException.ThrowIfNegative(steps);
                    return checked({{Literals.Int(buffers)}} * steps * Model.LayerOutputSize);
                }

                public static void Run(PackedWeights weights, ReadOnlySpan<float> xs, ref Model.State state, Span<float> ys)
                {
                    int length = RunWorkspaceLength(xs.Length / Model.InputSize);
                    if (length == 0)
                    {
                        Run(weights, xs, ref state, ys, default);
                        return;
                    }

                    float[] rented = ArrayPool<float>.Shared.Rent(length);
                    try
                    {
                        Run(weights, xs, ref state, ys, rented);
                    }
                    finally
                    {
                        ArrayPool<float>.Shared.Return(rented);
                    }
                }

                """);
        }

        _w.Lines($$"""
            // Each layer runs forward over the sequence, then backward, each direction writing its half of every step's output.
            public static void Run(PackedWeights weights, ReadOnlySpan<float> xs, ref Model.State state, Span<float> ys, Span<float> workspace)
            {
                {{SequenceLengthChecks}}
                if (workspace.Length < RunWorkspaceLength(steps)) { RnnThrow.LengthAtLeast(nameof(workspace), RunWorkspaceLength(steps), "RunWorkspaceLength(T)", workspace.Length); }
                // {{RunInPlaceReason}}
                RnnThrow.IfOverlapping(xs, ys, inPlace: {{Literals.Bool(Spec.RunsInPlace)}});{{workspaceCheck}}
                if (steps == 0)
                {
                    return;
                }

                ref float values = ref state.Values;
                ref float input = ref MemoryMarshal.GetReference(xs);
                ref float work = ref MemoryMarshal.GetReference(workspace);
                int inputStride = Model.InputSize;
                for (int layer = 0; layer < Model.LayerCount; layer++)
                {
                    {{output}}
                    for (int t = 0; t < steps; t++)
                    {
                        LayerStep(weights, layer * 2, ref Unsafe.Add(ref input, t * inputStride), ref values);
                        Unsafe.CopyBlockUnaligned(ref Unsafe.As<float, byte>(ref Unsafe.Add(ref output, t * Model.LayerOutputSize)), ref Unsafe.As<float, byte>(ref Unsafe.Add(ref values, layer * 2 * PaddedHidden)), Model.HiddenSize * sizeof(float));
                    }

                    for (int t = steps - 1; t >= 0; t--)
                    {
                        LayerStep(weights, layer * 2 + 1, ref Unsafe.Add(ref input, t * inputStride), ref values);
                        Unsafe.CopyBlockUnaligned(ref Unsafe.As<float, byte>(ref Unsafe.Add(ref output, t * Model.LayerOutputSize + Model.HiddenSize)), ref Unsafe.As<float, byte>(ref Unsafe.Add(ref values, (layer * 2 + 1) * PaddedHidden)), Model.HiddenSize * sizeof(float));
                    }

                    input = ref output;
                    inputStride = Model.LayerOutputSize;
                }
            """);
        using (_w.Indent())
        {
            if (Spec.Head is not null)
            {
                _w.Lines("""

                    ref float y = ref MemoryMarshal.GetReference(ys);
                    for (int t = 0; t < steps; t++)
                    {
                        HeadStep(weights, ref Unsafe.Add(ref input, t * Model.LayerOutputSize), ref Unsafe.Add(ref y, t * Model.OutputSize), ref values);
                    }
                    """);
            }
        }

        _w.Line("}");
        _w.Line();
    }

    // One layer and direction, one step: the tiles read all of h into the pre-activations before the cell's pointwise
    // step writes the new h in place.
    private void EmitLayerStep()
    {
        bool cell = _model.Cell.HasCellState;
        _w.Line("// One layer and direction (slot = layer × DirectionCount + direction), one step: the tiles read all of h before the new h is written in place.");
        _w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
        using (_w.Open("private static void LayerStep(PackedWeights weights, int slot, ref float x, ref float values)"))
        {
            _w.Line($"ref Weight w = {VectorWidth.BlockReference(_model.Spec.Storage, "weights", "slot")};");
            _w.Line("ref float h = ref Unsafe.Add(ref values, slot * PaddedHidden);");
            if (cell)
            {
                _w.Line("ref float c = ref Unsafe.Add(ref values, CellOffset + slot * PaddedHidden);");
            }

            if (_model.LayerShapes.Any(shape => VectorWidth.All.Any(width => _tiles.TakesPre(shape, width, KernelVariant.Inference))))
            {
                _w.Line("ref float pre = ref Unsafe.Add(ref values, ScratchOffset);");
            }

            EmitByLayer("slot", shape => PathSwitch(width => $"{shape.Name(width, KernelVariant.Inference)}({_tiles.Arguments(shape, width, KernelVariant.Inference)});"));
        }

        _w.Line();
    }

    private void EmitHeadStep()
    {
        if (_model.HeadShape is not { } head)
        {
            return;
        }

        _w.Line($"private const int HeadBlock = {Literals.Int(_model.HeadBlock)};");
        _w.Line();
        _w.Line("// The dense head on one step's top-layer output: pre-activations into the scratch, then the activation into y.");
        using (_w.Open("private static void HeadStep(PackedWeights weights, ref float input, ref float y, ref float values)"))
        {
            _w.Line($"ref Weight w = {VectorWidth.BlockReference(_model.Spec.Storage, "weights", "HeadBlock")};");
            _w.Line("ref float pre = ref Unsafe.Add(ref values, ScratchOffset);");
            PathSwitch(width => $"{head.Name(width, KernelVariant.Inference)}(ref w, ref input, ref pre);");
            _w.Line($"HeadActivations.Apply(OutputActivation, MemoryMarshal.CreateReadOnlySpan(ref pre, Model.OutputSize), MemoryMarshal.CreateSpan(ref y, Model.OutputSize));");
        }

        _w.Line();
    }

    /// <summary>A switch over the instance's path, calling each path's kernel.</summary>
    public void PathSwitch(Func<VectorWidth, string> call)
    {
        using (_w.Open("switch (weights.Path)"))
        {
            foreach (var width in VectorWidth.All)
            {
                _w.Line(width.IsScalar ? "default:" : $"case KernelPath.{width.Name}:");
                using (_w.Indent())
                {
                    _w.Line(call(width));
                    _w.Line("break;");
                }
            }
        }
    }

    /// <summary>The first layer reads the model's input; deeper layers read the layer below (a kernel of another width).</summary>
    public void EmitByLayer(string slot, Action<KernelShape> emit)
    {
        if (_model.LayerShapes.Length == 1)
        {
            emit(_model.LayerShapes[0]);
            return;
        }

        using (_w.Open($"if ({slot} < Model.DirectionCount)"))
        {
            emit(_model.LayerShapes[0]);
        }

        using (_w.Open("else"))
        {
            emit(_model.LayerShapes[1]);
        }
    }
}
