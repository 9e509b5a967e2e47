namespace Embedded.Rnn.Generator.Emit;

/// <summary>
/// Training in the kernels class (only when the model is trained): the forward step that keeps a tape, the backward step,
/// the head's forward and backward for the trainer, their dispatch, and the per-path record and backward kernels. The tape
/// is the cell's: its runtime operator writes and reads it, and the trainer only sizes it (<c>TapeLength</c>).
/// </summary>
internal sealed class TrainingEmitter(ModelFacts model, SourceWriter writer)
{
    private readonly ModelFacts _model = model;
    private readonly SourceWriter _w = writer;
    private readonly TileEmitter _tiles = new(model, writer);
    private readonly InferenceEmitter _dispatch = new(model, writer);

    public void Emit()
    {
        var head = _model.HeadShape;
        _w.Line("// Training: the tape of one step, per layer and direction, is the cell's (its operator writes and reads it).");
        _w.Line($"public const int TapeLength = {_model.Cell.Operator}.TapeValues * PaddedHidden;");
        _w.Line();
        _w.Line("// Training's forward step of one layer and direction for some streams (ITrainableRnnModel.ForwardSteps): the path's streams record kernel.");
        using (_w.Open("public static void ForwardSteps(PackedWeights weights, int layer, int direction, int streams, ref float x, int xStride, ref float h, ref float c, ref float tape, ref float hNew, ref float cNew)"))
        {
            _w.Line("int slot = Slot(layer, direction);");
            _w.Line("if (streams < 0 || xStride < 0) { throw new ArgumentOutOfRangeException(streams < 0 ? nameof(streams) : nameof(xStride)); }");
            _w.Line($"ref Weight w = {VectorWidth.BlockReference(_model.Spec.Storage, "weights", "slot")};");
            _dispatch.EmitByLayer("slot", shape => _dispatch.PathSwitch(width =>
                $"{shape.StreamsName(width, KernelVariant.Record)}(ref w, (nuint)streams, ref x, (nuint)xStride, ref h, ref c, ref tape, ref hNew, ref cNew);"));
        }

        _w.Line();
        _w.Line("// Backward through one step of one layer and direction for some streams (ITrainableRnnModel.BackwardSteps): the path's streams backward kernel.");
        using (_w.Open("public static void BackwardSteps(PackedWeights weights, int layer, int direction, int streams, Span<float> gradient, ref float x, int xStride, ref float h, ref float c, ref float tape, ref float dh, ref float dc, ref float dx, ref float dhPrev)"))
        {
            _w.Line("int slot = Slot(layer, direction);");
            _w.Line("if (gradient.Length != weights.BlockLengths[slot]) { RnnThrow.Length(nameof(gradient), weights.BlockLengths[slot], \"the block's packed length\", gradient.Length); }");
            _w.Line("if (streams < 0 || xStride < 0) { throw new ArgumentOutOfRangeException(streams < 0 ? nameof(streams) : nameof(xStride)); }");
            _w.Line($"ref Weight w = {VectorWidth.BlockReference(_model.Spec.Storage, "weights", "slot")};");
            _w.Line("ref float dw = ref MemoryMarshal.GetReference(gradient);");
            _dispatch.EmitByLayer("slot", shape => _dispatch.PathSwitch(width =>
                $"{shape.StreamsName(width, KernelVariant.Backward)}(ref w, ref dw, (nuint)streams, ref x, (nuint)xStride, ref h, ref c, ref tape, ref dh, ref dc, ref dx, ref dhPrev);"));
        }

        _w.Line();
        if (head is null)
        {
            _w.Lines("""
                // The trainer asks for the head only when the model has one.
                public static void HeadForward(PackedWeights weights, ref float input, ref float preActivation) => throw new InvalidOperationException("The model has no head.");

                public static void HeadBackward(PackedWeights weights, Span<float> gradient, ref float input, ref float dPreActivation, ref float dInput) =>
                    throw new InvalidOperationException("The model has no head.");

                """);
        }
        else
        {
            _w.Line("// The head's pre-activations for the trainer (ITrainableRnnModel.HeadForward): the path's inference kernel.");
            using (_w.Open("public static void HeadForward(PackedWeights weights, ref float input, ref float preActivation)"))
            {
                _w.Line($"ref Weight w = {VectorWidth.BlockReference(_model.Spec.Storage, "weights", "HeadBlock")};");
                _dispatch.PathSwitch(width => $"{head.Name(width, KernelVariant.Inference)}(ref w, ref input, ref preActivation);");
            }

            _w.Line();
            _w.Line("// Backward through the head (ITrainableRnnModel.HeadBackward): the path's backward kernel.");
            using (_w.Open("public static void HeadBackward(PackedWeights weights, Span<float> gradient, ref float input, ref float dPreActivation, ref float dInput)"))
            {
                _w.Line("if (gradient.Length != weights.BlockLengths[HeadBlock]) { RnnThrow.Length(nameof(gradient), weights.BlockLengths[HeadBlock], \"the head's packed length\", gradient.Length); }");
                _w.Line($"ref Weight w = {VectorWidth.BlockReference(_model.Spec.Storage, "weights", "HeadBlock")};");
                _w.Line("ref float dw = ref MemoryMarshal.GetReference(gradient);");
                _dispatch.PathSwitch(width => $"{head.Name(width, KernelVariant.Backward)}(ref w, ref dw, ref input, ref dPreActivation, ref dInput);");
            }

            _w.Line();
        }

        foreach (var width in VectorWidth.All)
        {
            foreach (var shape in _model.LayerShapes)
            {
                _tiles.EmitKernel(shape, width, KernelVariant.Record);
                _tiles.EmitStreamsRecordKernel(shape, width);
                if (_model.Spec.Bidirectional && width.Name == ModelFacts.GroupedRecordWidth.Name && _model.GroupsRecord)
                {
                    // Inference has no streams kernels for a bidirectional model; the record kernel uses their tiles.
                    _tiles.EmitStreamsTiles(shape, width);
                }

                _tiles.EmitKernel(shape, width, KernelVariant.Backward);
                _tiles.EmitStreamsBackwardKernel(shape, width);
            }

            if (_model.SecondPassShape is { } pass)
            {
                _tiles.EmitTiles(pass, width, KernelVariant.Record);
                _tiles.EmitTiles(pass, width, KernelVariant.Backward);
            }

            if (head is not null)
            {
                _tiles.EmitKernel(head, width, KernelVariant.Backward);
            }
        }
    }
}
