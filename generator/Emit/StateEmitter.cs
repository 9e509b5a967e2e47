using Embedded.Rnn.Generator.Layout;

namespace Embedded.Rnn.Generator.Emit;

/// <summary>
/// The state of one sequence: the nested <c>State</c> struct (one inline buffer, no references, <c>default</c> is zero) and
/// the kernels' view of its layout: h of every layer and direction, then c when the cell has one, then the scratch a step
/// works in, each padded to whole vectors of the widest path (<c>KernelLayout.StatePadding</c>).
/// </summary>
internal sealed class StateEmitter(ModelFacts model, SourceWriter writer)
{
    private readonly ModelFacts _model = model;
    private readonly SourceWriter _w = writer;

    private string K => _model.KernelsName;

    /// <summary>The struct, nested in the user's class.</summary>
    public void EmitStruct()
    {
        bool cell = _model.Cell.HasCellState;
        const string Unscoped = "[global::System.Diagnostics.CodeAnalysis.UnscopedRef]";
        _w.Lines($$"""
            /// <summary>
            /// The recurrent state of one sequence: every layer's and direction's hidden state h{{(cell ? " and cell state c" : string.Empty)}}.
            /// A value type with no references: keep one per sensor or stream; all may share one model instance.
            /// <c>default</c> is the zero state.
            /// </summary>
            [global::System.CodeDom.Compiler.GeneratedCode({{RnnGenerator.Emitter.GeneratedCodeArguments}})]
            """);
        using (_w.Open("public struct State : global::Embedded.Rnn.IRnnState"))
        {
            _w.Lines($$"""
                // h of every layer and direction{{(cell ? ", then c" : string.Empty)}}, then the scratch a step works in; each part padded to whole {{Literals.Int(KernelLayout.StatePadding)}}-float vectors.
                private Buffer _buffer;

                /// <inheritdoc/>
                {{Unscoped}}
                public global::System.Span<float> Hidden(int layer, int direction = 0) => {{K}}.Hidden(ref this, layer, direction);

                """);
            if (cell)
            {
                _w.Lines($$"""
                    /// <inheritdoc/>
                    {{Unscoped}}
                    public global::System.Span<float> Cell(int layer, int direction = 0) => {{K}}.Cell(ref this, layer, direction);

                    """);
            }
            else
            {
                _w.Lines($$"""
                    {{Unscoped}}
                    global::System.Span<float> global::Embedded.Rnn.IRnnState.Cell(int layer, int direction) => {{K}}.NoCellState();

                    """);
            }

            string parts = cell ? "h and c" : "h";
            _w.Lines($$"""
                /// <summary>Sets every state value to zero.</summary>
                public void Reset() => this = default;

                /// <summary>Bytes <see cref="WriteTo"/> writes: a header (this model's fingerprint and sizes, a checksum), then {{parts}} of every layer and direction.</summary>
                public const int SavedLength = {{Literals.Int(_model.SavedStateLength)}};

                /// <inheritdoc/>
                public bool IsFinite() => {{K}}.StateFormat.AllFinite(ref Values);

                /// <inheritdoc/>
                public int WriteTo(global::System.Span<byte> destination) => {{K}}.StateFormat.Write(ref Values, destination);

                /// <inheritdoc/>
                public void ReadFrom(global::System.ReadOnlySpan<byte> source) => {{K}}.StateFormat.Read(source, ref Values, {{Literals.Int(_model.StateLength)}});

                // The first float of the buffer: the kernels' view of the state.
                {{Unscoped}}
                internal ref float Values => ref _buffer[0];

                [global::System.Runtime.CompilerServices.InlineArray({{Literals.Int(_model.StateLength)}})]
                private struct Buffer
                {
                    private float _element0;
                }
                """);
        }

        _w.Line();
    }

    /// <summary>The layout constants and accessors in the kernels class.</summary>
    public void EmitKernelSide()
    {
        bool cell = _model.Cell.HasCellState;
        _w.Line($"// The state: h of every layer and direction{(cell ? ", then c" : string.Empty)}, then the scratch; HiddenSize padded to whole {Literals.Int(KernelLayout.StatePadding)}-float vectors. StateFormat saves it as bytes (under the fingerprint of this model's spec) and checks that it is finite.");
        _w.Line($"private const int PaddedHidden = {Literals.Int(_model.PaddedHidden)};");
        if (cell)
        {
            _w.Line($"private const int CellOffset = {Literals.Int(_model.CellOffset)};");
        }

        _w.Line($"private const int ScratchOffset = {Literals.Int(_model.ScratchOffset)};");
        if (!_model.Spec.Bidirectional || _model.GroupsRecord)
        {
            // The streams kernels' stride (a bidirectional model has them only for training's grouped forward step).
            _w.Line($"private const int StateLength = {Literals.Int(_model.StateLength)}; // floats of a State: stream s of a Span<State> starts s × StateLength past stream 0");
        }

        if (_model.ProjectsInputs)
        {
            _w.Line($"private const int ProjectionLength = {Literals.Int(_model.ProjectionLength)}; // floats of one step's input projection in Run: the first layer's slots, laid out as in the scratch");
        }

        _w.Line($"public static readonly StateFormat StateFormat = new(0x{_model.Fingerprint:x16}UL, Model.LayerCount, Model.DirectionCount, Model.HiddenSize, hasCellState: {(cell ? "true" : "false")}, \"{_model.Description}\");");
        _w.Line();
        _w.Lines("""
            // The slot of a layer and direction in the state and among the packed blocks, checked: public entry points take these.
            private static int Slot(int layer, int direction)
            {
                if ((uint)layer >= Model.LayerCount) { RnnThrow.Index(nameof(layer), layer, Model.LayerCount); }
                if ((uint)direction >= Model.DirectionCount) { RnnThrow.Index(nameof(direction), direction, Model.DirectionCount); }
                return layer * Model.DirectionCount + direction;
            }

            public static Span<float> Hidden(ref Model.State state, int layer, int direction) =>
                MemoryMarshal.CreateSpan(ref Unsafe.Add(ref state.Values, Slot(layer, direction) * PaddedHidden), Model.HiddenSize);

            """);
        _w.Lines(cell
            ? """
                public static Span<float> Cell(ref Model.State state, int layer, int direction) =>
                    MemoryMarshal.CreateSpan(ref Unsafe.Add(ref state.Values, CellOffset + Slot(layer, direction) * PaddedHidden), Model.HiddenSize);

                """
            : $$"""
                public static Span<float> NoCellState() => throw new NotSupportedException("A {{_model.Cell.Title}} has no cell state.");

                """);
    }
}
