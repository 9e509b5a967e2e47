using System;
using System.Collections.Generic;
using System.Linq;
using Embedded.Rnn.Generator.Layout;

namespace Embedded.Rnn.Generator.Emit;

/// <summary>
/// The multi-stream kernels: one layer step for a fixed number of streams at once, so each weight vector is loaded once
/// and multiplied into every stream's accumulator (a small matrix-matrix product instead of one matrix-vector product
/// per stream). A streams tile computes some chunks of a packed tile for every stream and stores each stream's
/// pre-activations in its own state's scratch; then each stream finishes its step alone (the cell's second pass, if it
/// has one, and the pointwise step), as a layer with several tiles does in <c>Step</c>.
/// </summary>
internal sealed partial class TileEmitter
{
    /// <summary>
    /// Streams a streams kernel advances at once on <paramref name="width"/>: four where AVX-512 gives 32 registers, two on
    /// the 16-register widths. Every stream's accumulators of one chunk (4 for an LSTM or GRU) stay in registers.
    /// </summary>
    public static int Streams(VectorWidth width) => width.Lanes == 16 ? 4 : 2;

    /// <summary>
    /// Streams a streams backward kernel takes back at once, on every width: a shard of the trainer's batch (32 sequences in
    /// 8 shards). Its gate gradients are read from the stack per weight vector, so registers hold only each stream's
    /// broadcast and input-gradient sum.
    /// </summary>
    public const int BackwardStreams = 4;

    // Accumulators a streams tile keeps: the 16-register budget, doubled where AVX-512 has 32 registers.
    private static int StreamsBudget(VectorWidth width) => width.Lanes == 16 ? 2 * KernelLayout.TargetAccumulators : KernelLayout.TargetAccumulators;

    // Chunks of a tile one streams-tile call computes: the most that divide the tile and keep every stream's accumulators
    // within the budget (at least one).
    private static int StreamChunks(KernelShape shape, VectorWidth width, int tileChunks)
    {
        int most = System.Math.Max(1, StreamsBudget(width) / (shape.Slots.Count * Streams(width)));
        return Enumerable.Range(1, tileChunks).Last(c => tileChunks % c == 0 && c <= most);
    }

    /// <summary>
    /// A layer's streams kernel (its tiles for <see cref="Streams"/> streams, then each stream's finish), its streams tiles and
    /// its finish. Stream s reads x + s·xStride and keeps h, c and its scratch at s·StateLength past stream 0's.
    /// </summary>
    public void EmitStreamsKernel(KernelShape shape, VectorWidth width)
    {
        var block = shape.Block(width);
        int streams = Streams(width);
        bool cell = _model.Cell.HasCellState;
        _w.Line($"// One step of a layer with {Literals.Int(shape.Input)} input and {Literals.Int(shape.Recurrent)} recurrent columns for {Literals.Int(streams)} streams on {width.Name}: each weight vector is loaded once for all of them; each stream's pre-activations go to its own scratch, then each stream finishes its step.");
        _w.Line("[MethodImpl(MethodImplOptions.NoInlining)]");
        using (_w.Open($"private static void {shape.StreamsName(width)}(ref Weight w, ref float x, nuint xStride, ref float h, {(cell ? "ref float c, " : string.Empty)}ref float pre)"))
        {
            EmitStreamsTilesOverBlock(shape, width, "ref x, xStride, ref h, ref pre");
            using (_w.Open($"for (nuint stream = 0; stream < {Literals.Int(streams)}; stream++)"))
            {
                _w.Line("nuint at = stream * StateLength;");
                string w = _model.SecondPassShape is null ? string.Empty : "ref w, ";
                string c = cell ? "ref Unsafe.Add(ref c, at), " : string.Empty;
                _w.Line($"{shape.FinishName(width)}({w}ref Unsafe.Add(ref h, at), {c}ref Unsafe.Add(ref pre, at));");
            }
        }

        _w.Line();
        EmitStreamsTiles(shape, width);
        EmitFinish(shape, width, block);
    }

    /// <summary>A layer's streams tiles alone (the ones its streams kernel calls), for a model whose inference has none.</summary>
    public void EmitStreamsTiles(KernelShape shape, VectorWidth width, bool project = false)
    {
        var block = shape.Block(width);
        EmitStreamsTile(shape, width, block.Tile(block.ChunksPerTile), project);
        if (block.RemainderChunks > 0)
        {
            EmitStreamsTile(shape, width, block.Tile(block.RemainderChunks), project);
        }
    }

    /// <summary>
    /// A layer's streams record kernel: training's forward step for any number of streams, <see cref="Streams"/> at a time
    /// through the inference streams tiles, and the rest one by one through the layer's record kernel. A group's h is
    /// copied into states on the stack, laid out as the tiles read them; each stream's pre-activations come back in its
    /// state's scratch, and its record finish writes its tape, new h and new c. Stream s reads x at s·xStride, keeps h, c,
    /// hNew and cNew at s·PaddedHidden and its tape at s·TapeLength. The tiles sum each column in turn (one chain per
    /// stream), so a stream's values can differ from the record kernel's (partial sums) in the last bits. A cell with a
    /// second pass, every path but <see cref="ModelFacts.GroupedRecordWidth"/> and a model too large to group
    /// (<see cref="ModelFacts.GroupsRecord"/>) step stream by stream.
    /// </summary>
    public void EmitStreamsRecordKernel(KernelShape shape, VectorWidth width)
    {
        var block = shape.Block(width);
        int streams = Streams(width);
        string single = shape.Name(width, KernelVariant.Record);
        string name = shape.StreamsName(width, KernelVariant.Record);
        const string Parameters = "ref Weight w, nuint streams, ref float x, nuint xStride, ref float h, ref float c, ref float tape, ref float hNew, ref float cNew";
        string OneStream(string stream) =>
            $"{single}(ref w, ref Unsafe.Add(ref x, {stream} * xStride), ref Unsafe.Add(ref h, {stream} * PaddedHidden), ref Unsafe.Add(ref c, {stream} * PaddedHidden), " +
            $"ref Unsafe.Add(ref tape, {stream} * TapeLength), ref Unsafe.Add(ref hNew, {stream} * PaddedHidden), ref Unsafe.Add(ref cNew, {stream} * PaddedHidden));";
        string sizes = $"a layer with {Literals.Int(shape.Input)} input and {Literals.Int(shape.Recurrent)} recurrent columns on {width.Name}";
        if (width.Name != ModelFacts.GroupedRecordWidth.Name || !_model.GroupsRecord)
        {
            string why = _model.SecondPassShape is not null ? $"the {_model.Cell.Title}'s second pass runs per stream"
                : width.Name != ModelFacts.GroupedRecordWidth.Name ? $"groups of {Literals.Int(streams)} record no faster on this path"
                : "a group's states would take too much of the stack";
            EmitStreamByStream($"// Training's forward step of {sizes} for several streams, one by one ({why}).", $"private static void {name}({Parameters})", OneStream("stream"));
            return;
        }

        var finish = RecordFinishParameters(width);
        _w.Line($"// Training's forward step of {sizes} for several streams, {Literals.Int(streams)} at a time through the streams tiles (each weight vector loaded once for the group), then each stream's forward step keeping the tape; the streams past the last group one by one.");
        _w.Line("[MethodImpl(MethodImplOptions.NoInlining)]");
        using (_w.Open($"private static void {name}({Parameters})"))
        {
            _w.Line("nuint stream = 0;");
            using (_w.Open($"if (streams >= {Literals.Int(streams)})"))
            {
                _w.Line($"Span<float> states = stackalloc float[{Literals.Int(streams)} * StateLength]; // the group's h and pre-activations, where the streams tiles read and write a state's");
                _w.Line("ref float group = ref MemoryMarshal.GetReference(states);");
                _w.Line("ref float pre = ref Unsafe.Add(ref group, ScratchOffset);");
                using (_w.Open($"for (; stream + {Literals.Int(streams)} <= streams; stream += {Literals.Int(streams)})"))
                {
                    using (_w.Open($"for (nuint n = 0; n < {Literals.Int(streams)}; n++)"))
                    {
                        _w.Line("MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref h, (stream + n) * PaddedHidden), PaddedHidden).CopyTo(states.Slice((int)n * StateLength, PaddedHidden));");
                    }

                    _w.Line("ref float xs = ref Unsafe.Add(ref x, stream * xStride);");
                    EmitStreamsTilesOverBlock(shape, width, "ref xs, xStride, ref group, ref pre");
                    using (_w.Open($"for (nuint n = 0; n < {Literals.Int(streams)}; n++)"))
                    {
                        _w.Line("nuint at = (stream + n) * PaddedHidden;");
                        var arguments = finish.Select(buffer => buffer == "tape" ? "ref Unsafe.Add(ref tape, (stream + n) * TapeLength)" : $"ref Unsafe.Add(ref {buffer}, at)");
                        _w.Line($"{shape.FinishName(width, KernelVariant.Record)}(ref Unsafe.Add(ref pre, n * StateLength), {string.Join(", ", arguments)});");
                    }
                }
            }

            using (_w.Open("for (; stream < streams; stream++)"))
            {
                _w.Line(OneStream("stream"));
            }
        }

        _w.Line();
        EmitRecordFinish(shape, width, block, finish);
    }

    // The buffers the cell's record step reads and writes, in the order a record finish takes them.
    private string[] RecordFinishParameters(VectorWidth width)
    {
        string call = _model.Cell.Record(width, _model.Cell.Slots.Select(s => s.Name).ToList(), "unit");
        return new[] { "h", "c", "tape", "hNew", "cNew" }.Where(name => call.Contains($"ref {name},") || call.Contains($"ref {name})")).ToArray();
    }

    // One stream's rest of a training step after the streams tiles: per vector of units, its pre-activations loaded from
    // pre and the cell's forward step keeping the tape.
    private void EmitRecordFinish(KernelShape shape, VectorWidth width, BlockLayout block, string[] buffers)
    {
        var slots = shape.Slots;
        int units = block.Chunks * width.Lanes;
        _w.Line($"// One stream's rest of a training step after the streams tiles: the {_model.Cell.Title}'s forward step keeping the tape, from the pre-activations in pre.");
        using (_w.Open($"private static void {shape.FinishName(width, KernelVariant.Record)}(ref float pre, {string.Join(", ", buffers.Select(b => "ref float " + b))})"))
        {
            void Body(bool loop)
            {
                var accumulators = Enumerable.Range(0, slots.Count).Select(s => Accumulator(shape, s, 0)).ToList();
                for (int s = 0; s < slots.Count; s++)
                {
                    int offset = (shape.FirstSlot + s) * _model.PaddedHidden;
                    _w.Line($"var {accumulators[s]} = {width.Load("pre", loop ? Unit(offset) : Literals.Int(offset))};");
                }

                _w.Line(_model.Cell.Record(width, accumulators, loop ? "unit" : "0"));
            }

            if (block.Chunks == 1)
            {
                Body(loop: false);
            }
            else
            {
                using (_w.Open($"for (nuint unit = 0; unit < {Literals.Int(units)}; {(width.Lanes == 1 ? "unit++" : $"unit += {Literals.Int(width.Lanes)}")})"))
                {
                    Body(loop: true);
                }
            }
        }

        _w.Line();
    }

    /// <summary>
    /// The first layer's input projections of <see cref="ModelFacts.ProjectionSteps"/> consecutive steps, for the
    /// time-batched Run: the streams tiles over the input columns only, the steps as streams (step n reads
    /// x + n·InputSize and writes proj + n·ProjectionLength), so each input weight vector is loaded once for them all.
    /// </summary>
    public void EmitProjectKernel(KernelShape shape, VectorWidth width)
    {
        var block = shape.Block(width);
        _w.Line($"// The input projections (the bias plus {Literals.Int(shape.Input)} input columns) of {Literals.Int(ModelFacts.ProjectionSteps)} consecutive steps on {width.Name}: each input weight vector is loaded once for all of them; step n's go to proj + n × ProjectionLength, laid out as the scratch.");
        _w.Line("[MethodImpl(MethodImplOptions.NoInlining)]");
        using (_w.Open($"private static void {shape.ProjectName(width)}(ref Weight w, ref float x, ref float proj)"))
        {
            EmitStreamsTilesOverBlock(shape, width, "ref x, ref proj", project: true);
        }

        _w.Line();
        EmitStreamsTiles(shape, width, project: true);
    }

    // The streams tiles (or with project, the projection tiles) over a layer's block, weights at w: each full tile, then
    // the remainder's. buffers: the tiles' arguments after the weights.
    private void EmitStreamsTilesOverBlock(KernelShape shape, VectorWidth width, string buffers, bool project = false)
    {
        var block = shape.Block(width);
        int tileLength = block.Tile(block.ChunksPerTile).Length;
        int tileUnits = block.ChunksPerTile * width.Lanes;
        if (block.FullTiles == 1)
        {
            EmitStreamsTileCalls(shape, width, block.ChunksPerTile, "w", "0", buffers, project);
        }
        else if (block.FullTiles > 1)
        {
            using (_w.Open($"for (nuint tile = 0; tile < {Literals.Int(block.FullTiles)}; tile++)"))
            {
                _w.Line($"ref Weight wt = ref Unsafe.Add(ref w, tile * {Literals.Int(tileLength)});");
                EmitStreamsTileCalls(shape, width, block.ChunksPerTile, "wt", $"tile * {Literals.Int(tileUnits)}", buffers, project);
            }
        }

        if (block.RemainderChunks > 0)
        {
            _w.Line($"ref Weight last = ref Unsafe.Add(ref w, {Literals.Int(block.FullTiles * tileLength)});");
            EmitStreamsTileCalls(shape, width, block.RemainderChunks, "last", Literals.Int(block.FullTiles * tileUnits), buffers, project);
        }
    }

    // The calls of the streams tile (or with project, the projection tile) over one tile's chunks, a group of StreamChunks at a time.
    private void EmitStreamsTileCalls(KernelShape shape, VectorWidth width, int tileChunks, string weights, string unit, string buffers, bool project)
    {
        int group = StreamChunks(shape, width, tileChunks);
        string name = project ? shape.ProjectTileName(width, tileChunks) : shape.StreamsTileName(width, tileChunks);
        string Units(string chunk) => unit == "0" ? chunk : chunk == "0" ? unit : $"{unit} + {chunk}";
        if (group == tileChunks)
        {
            _w.Line($"{name}(ref {weights}, {buffers}, {unit});");
            return;
        }

        using (_w.Open($"for (nuint chunk = 0; chunk < {Literals.Int(tileChunks)}; {(group == 1 ? "chunk++" : $"chunk += {Literals.Int(group)}")})"))
        {
            _w.Line($"{name}(ref {weights}, {buffers}, chunk, {Units($"chunk * {Literals.Int(width.Lanes)}")});");
        }
    }

    // Chunks chunk .. chunk + group - 1 of a tile for every stream: accumulators start at the bias, each column's weight
    // vectors are loaded once and multiplied by every stream's broadcast, and each stream's sums go to its scratch. A
    // projection tile (project) stops after the input columns and writes each step's sums to its projection.
    private void EmitStreamsTile(KernelShape shape, VectorWidth width, TileLayout tile, bool project = false)
    {
        var slots = shape.Slots;
        int streams = Streams(width);
        int group = StreamChunks(shape, width, tile.Chunks);
        int lanes = width.Lanes;
        string units = group * lanes == 1 ? "Unit unit" : $"Units unit .. unit + {Literals.Int(group * lanes - 1)}";
        string chunks = group == tile.Chunks ? "the whole tile"
            : group == 1 ? $"chunk `chunk` of a {Literals.Int(tile.Chunks)}-chunk tile"
            : $"chunks chunk .. chunk + {Literals.Int(group - 1)} of a {Literals.Int(tile.Chunks)}-chunk tile";
        _w.Line(project
            ? $"// {units} ({chunks}) of {string.Join(", ", slots.Select(s => s.Name))} for {Literals.Int(streams)} consecutive steps: {Sums(shape)} {Literals.Int(shape.Input)} input columns, into each step's projection."
            : $"// {units} ({chunks}) of {string.Join(", ", slots.Select(s => s.Name))} for {Literals.Int(streams)} streams: {Sums(shape)} {Literals.Int(shape.Input)} input and {Literals.Int(shape.Recurrent)} recurrent columns, into each stream's pre.");
        bool whole = group == tile.Chunks;
        string bias = whole ? "w" : "wb";
        string buffers = project ? "ref float x, ref float proj" : "ref float x, nuint xStride, ref float h, ref float pre";
        string name = project ? shape.ProjectTileName(width, tile.Chunks) : shape.StreamsTileName(width, tile.Chunks);
        // Where stream n's input, h and sums are: a projection's steps are consecutive inputs and projections.
        string xStride = project ? "Model.InputSize" : "xStride";
        string output = project ? "proj" : "pre";
        string outputStride = project ? "ProjectionLength" : "StateLength";
        using (_w.Open($"private static void {name}(ref Weight w, {buffers}, {(whole ? string.Empty : "nuint chunk, ")}nuint unit)"))
        {
            if (whole)
            {
                _w.Line($"ref Weight wx = ref Unsafe.Add(ref w, {Literals.Int(tile.InputOffset)});");
                if (!project)
                {
                    _w.Line($"ref Weight wh = ref Unsafe.Add(ref w, {Literals.Int(tile.RecurrentOffset)});");
                }
            }
            else
            {
                // The group's bias and its part of every column (the layout's (chunk, slot) order within a column).
                _w.Line($"ref Weight wb = ref Unsafe.Add(ref w, chunk * {Literals.Int(shape.Slots.Count * tile.HeaderVectors * lanes * KernelLayout.WeightsPerFloat(shape.Storage))});");
                int laneStep = KernelLayout.LaneStep(shape.Storage);
                _w.Line($"ref Weight wx = ref Unsafe.Add(ref w, {Literals.Int(tile.InputOffset)} + chunk * {Literals.Int(shape.InputSlots.Length * lanes * laneStep)});");
                if (!project)
                {
                    _w.Line($"ref Weight wh = ref Unsafe.Add(ref w, {Literals.Int(tile.RecurrentOffset)} + chunk * {Literals.Int(shape.RecurrentSlots.Length * lanes * laneStep)});");
                }
            }

            if (VectorWidth.HeaderDeclaration(shape.Storage, bias) is { } header)
            {
                _w.Line(header);
            }

            for (int n = 1; n < streams; n++)
            {
                _w.Line($"ref float {StreamRef("x", n)} = ref Unsafe.Add(ref x, {Multiple(n, xStride)});");
                if (!project)
                {
                    _w.Line($"ref float {StreamRef("h", n)} = ref Unsafe.Add(ref h, {Multiple(n, "StateLength")});");
                }
            }

            for (int k = 0; k < group; k++)
            {
                for (int s = 0; s < slots.Count; s++)
                {
                    string first = StreamAccumulator(shape, s, k, 0);
                    _w.Line($"var {first} = {Start(shape, width, tile, bias, k, s)};");
                    for (int n = 1; n < streams; n++)
                    {
                        _w.Line($"var {StreamAccumulator(shape, s, k, n)} = {first};");
                    }
                }
            }

            // One local per weight vector of a column, loaded once and used by every stream.
            var loaded = project ? shape.InputSlots : Enumerable.Range(0, slots.Count).ToArray();
            _w.Line($"{width.Type} {string.Join(", ", Enumerable.Range(0, group).SelectMany(k => loaded.Select(s => WeightLocal(shape, s, k))))};");
            var everyStream = (int k, int s) => Enumerable.Range(0, streams).Select(n => StreamAccumulator(shape, s, k, n));
            EmitStreamColumns(shape, width, "x", shape.Input, shape.InputSlots, group, tile.InputColumnStride, streams);
            ScaleInputSums(shape, width, tile, bias, group, everyStream);
            if (!project)
            {
                EmitStreamColumns(shape, width, "h", shape.Recurrent, shape.RecurrentSlots, group, tile.RecurrentColumnStride, streams);
                ScaleRecurrentSums(shape, width, tile, bias, group, everyStream);
            }

            for (int n = 0; n < streams; n++)
            {
                string pre = n == 0 ? output : StreamRef(output, n);
                if (n > 0)
                {
                    _w.Line($"ref float {pre} = ref Unsafe.Add(ref {output}, {Multiple(n, outputStride)});");
                }

                for (int k = 0; k < group; k++)
                {
                    for (int s = 0; s < slots.Count; s++)
                    {
                        _w.Line(width.Store(StreamAccumulator(shape, s, k, n), pre, Unit(k * lanes + (shape.FirstSlot + s) * _model.PaddedHidden)));
                    }
                }
            }
        }

        _w.Line();
    }

    // Rolled: with a chain per stream the tile is bound by FMA throughput, not latency, so unrolling buys little and
    // costs many lines per width.
    private void EmitStreamColumns(KernelShape shape, VectorWidth width, string source, int columns, int[] reading, int group, int stride, int streams)
    {
        ForEachColumn(source, columns, 0, stride, sectionDeclared: true, withGradients: false, (index, name, weights, columnOffset, column) =>
        {
            for (int n = 0; n < streams; n++)
            {
                _w.Line($"var {name}s{Literals.Int(n)} = {width.Broadcast(n == 0 ? source : StreamRef(source, n), index)};");
            }

            int vector = 0;
            for (int k = 0; k < group; k++)
            {
                foreach (int s in reading)
                {
                    string weight = WeightLocal(shape, s, k);
                    string at = Literals.Int(WeightPosition(columnOffset, column, vector++, stride, width));
                    _w.Line($"{weight} = {width.LoadWeight(_model.Spec.Storage, weights, at, column)};");
                    for (int n = 0; n < streams; n++)
                    {
                        string a = StreamAccumulator(shape, s, k, n);
                        _w.Line($"{a} = {width.MultiplyAdd(weight, $"{name}s{Literals.Int(n)}", a)};");
                    }

                }
            }
        }, rolled: true);
    }

    // What a stream does alone after the streams tiles: the cell's second pass (its Prepare and tiles), then the pointwise step.
    private void EmitFinish(KernelShape shape, VectorWidth width, BlockLayout block)
    {
        var pass = _model.SecondPassShape;
        bool cell = _model.Cell.HasCellState;
        _w.Line($"// One stream's rest of the step after the streams tiles: {(pass is null ? string.Empty : $"{pass.Pass!.Title} and its tiles, then ")}the {_model.Cell.Title}'s pointwise step.");
        using (_w.Open($"private static void {shape.FinishName(width)}({(pass is null ? string.Empty : "ref Weight w, ")}ref float h, {(cell ? "ref float c, " : string.Empty)}ref float pre)"))
        {
            if (pass is not null)
            {
                _w.Line(pass.Pass!.Prepare(width, block.Chunks * width.Lanes));
                EmitTileCalls(pass, width, KernelVariant.Inference, KernelLayout.PassStart(new[] { block, pass.Block(width) }, 1));
            }

            _w.Line(_model.Cell.Activate(width, block.Chunks * width.Lanes));
        }

        _w.Line();
    }

    /// <summary>
    /// A layer's streams backward kernel: one step back for any number of streams, <see cref="BackwardStreams"/> at a time
    /// and the rest one by one through the layer's backward kernel. Per tile, each stream's pointwise backward step writes
    /// its gate gradients to a scratch on the stack, then the streams backward tile adds every stream's share to each weight
    /// gradient vector it loads once. Stream s reads x and writes dx at s·xStride, and keeps h, c, dh, dc and dhPrev at
    /// s·PaddedHidden and its tape at s·TapeLength. Each stream's results, and the gradient, equal the backward kernel's run
    /// stream by stream bit for bit: every sum is added in the same order. A cell with a second pass steps stream by stream.
    /// </summary>
    public void EmitStreamsBackwardKernel(KernelShape shape, VectorWidth width)
    {
        var block = shape.Block(width);
        int streams = BackwardStreams;
        string single = shape.Name(width, KernelVariant.Backward);
        string OneStream(string stream) =>
            $"{single}(ref w, ref dw, ref Unsafe.Add(ref x, {stream} * xStride), ref Unsafe.Add(ref h, {stream} * PaddedHidden), ref Unsafe.Add(ref c, {stream} * PaddedHidden), ref Unsafe.Add(ref tape, {stream} * TapeLength), " +
            $"ref Unsafe.Add(ref dh, {stream} * PaddedHidden), ref Unsafe.Add(ref dc, {stream} * PaddedHidden), ref Unsafe.Add(ref dx, {stream} * xStride), ref Unsafe.Add(ref dhPrev, {stream} * PaddedHidden));";
        const string Parameters = "ref Weight w, ref float dw, nuint streams, ref float x, nuint xStride, ref float h, ref float c, ref float tape, ref float dh, ref float dc, ref float dx, ref float dhPrev";
        if (_model.SecondPassShape is not null)
        {
            EmitStreamByStream($"// One step back of a layer with {Literals.Int(shape.Input)} input and {Literals.Int(shape.Recurrent)} recurrent columns on {width.Name} for several streams, one by one (the {_model.Cell.Title}'s second pass runs per stream).",
                $"private static void {shape.StreamsName(width, KernelVariant.Backward)}({Parameters})", OneStream("stream"));
            return;
        }

        int tileLength = block.Tile(block.ChunksPerTile).Length;
        int tileUnits = block.ChunksPerTile * width.Lanes;
        int scratch = block.ChunksPerTile * shape.Slots.Count * width.Lanes;
        _w.Line($"// One step back of a layer with {Literals.Int(shape.Input)} input and {Literals.Int(shape.Recurrent)} recurrent columns on {width.Name} for several streams, {Literals.Int(streams)} at a time: per tile, each stream's gate gradients, then every stream's weight and input gradients with each weight and gradient vector loaded once; the streams past the last group one by one.");
        _w.Line("[MethodImpl(MethodImplOptions.NoInlining)]");
        using (_w.Open($"private static void {shape.StreamsName(width, KernelVariant.Backward)}({Parameters})"))
        {
            _w.Line($"Span<float> gates = stackalloc float[{Literals.Int(streams * scratch)}]; // each stream's gate gradients of one tile");
            _w.Line("ref float d = ref MemoryMarshal.GetReference(gates);");
            _w.Line("nuint stream = 0;");
            using (_w.Open($"for (; stream + {Literals.Int(streams)} <= streams; stream += {Literals.Int(streams)})"))
            {
                _w.Line("ref float xs = ref Unsafe.Add(ref x, stream * xStride);");
                _w.Line("ref float hs = ref Unsafe.Add(ref h, stream * PaddedHidden);");
                _w.Line("ref float dxs = ref Unsafe.Add(ref dx, stream * xStride);");
                _w.Line("ref float dhPrevs = ref Unsafe.Add(ref dhPrev, stream * PaddedHidden);");
                void Tile(int chunks, string offset, string unit)
                {
                    using (_w.Open($"for (nuint n = 0; n < {Literals.Int(streams)}; n++)"))
                    {
                        _w.Line("nuint at = (stream + n) * PaddedHidden;");
                        var arguments = GateParameters(shape, width).Select(name => name == "tape"
                            ? "ref Unsafe.Add(ref tape, (stream + n) * TapeLength)"
                            : $"ref Unsafe.Add(ref {name}, at)");
                        // Stream n's gradients at n × the tile's (chunk, gate) vectors, where its streams tile reads them.
                        _w.Line($"{shape.GatesName(width, chunks)}({string.Join(", ", arguments)}, ref Unsafe.Add(ref d, n * {Literals.Int(chunks * shape.Slots.Count * width.Lanes)}), {unit});");
                    }

                    string at = offset == "0" ? "ref w, ref dw" : $"ref Unsafe.Add(ref w, {offset}), ref Unsafe.Add(ref dw, {offset})";
                    _w.Line($"{shape.StreamsTileName(width, chunks, KernelVariant.Backward)}({at}, ref xs, xStride, ref hs, ref d, ref dxs, ref dhPrevs);");
                }

                if (block.FullTiles == 1)
                {
                    Tile(block.ChunksPerTile, "0", "0");
                }
                else if (block.FullTiles > 1)
                {
                    using (_w.Open($"for (nuint tile = 0; tile < {Literals.Int(block.FullTiles)}; tile++)"))
                    {
                        Tile(block.ChunksPerTile, $"tile * {Literals.Int(tileLength)}", $"tile * {Literals.Int(tileUnits)}");
                    }
                }

                if (block.RemainderChunks > 0)
                {
                    Tile(block.RemainderChunks, Literals.Int(block.FullTiles * tileLength), Literals.Int(block.FullTiles * tileUnits));
                }
            }

            using (_w.Open("for (; stream < streams; stream++)"))
            {
                _w.Line(OneStream("stream"));
            }
        }

        _w.Line();
        EmitGates(shape, width, block.Tile(block.ChunksPerTile));
        EmitStreamsBackwardTile(shape, width, block.Tile(block.ChunksPerTile));
        if (block.RemainderChunks > 0)
        {
            EmitGates(shape, width, block.Tile(block.RemainderChunks));
            EmitStreamsBackwardTile(shape, width, block.Tile(block.RemainderChunks));
        }
    }

    // A streams kernel that takes every stream through the single-stream kernel (oneStream: its call for stream `stream`).
    private void EmitStreamByStream(string comment, string signature, string oneStream)
    {
        _w.Line(comment);
        using (_w.Open(signature))
        using (_w.Open("for (nuint stream = 0; stream < streams; stream++)"))
        {
            _w.Line(oneStream);
        }

        _w.Line();
    }

    // The buffers the cell's backward step reads and writes, in the order a gates method takes them.
    private string[] GateParameters(KernelShape shape, VectorWidth width)
    {
        string call = _model.Cell.Backward(width, shape.Slots.Select(s => "d" + s.Name).ToList(), "unit");
        return new[] { "h", "c", "tape", "dh", "dc", "dhPrev" }.Where(name => call.Contains($"ref {name},") || call.Contains($"ref {name})")).ToArray();
    }

    // One stream's pointwise backward step over a tile's chunks: the cell's backward step per chunk, its gate gradients
    // stored to d in the tile's (chunk, slot) order.
    private void EmitGates(KernelShape shape, VectorWidth width, TileLayout tile)
    {
        var slots = shape.Slots;
        string parameters = string.Join(", ", GateParameters(shape, width).Select(name => "ref float " + name));
        _w.Line($"// Units unit .. unit + {Literals.Int(tile.Chunks * width.Lanes - 1)} of one stream: the {_model.Cell.Title}'s backward step, its gate gradients into d in (chunk, gate) order.");
        using (_w.Open($"private static void {shape.GatesName(width, tile.Chunks)}({parameters}, ref float d, nuint unit)"))
        {
            var gradients = Enumerable.Range(0, slots.Count).Select(s => "d" + Accumulator(shape, s, 0)).ToList();
            ForEachChunk(tile.Chunks, new[] { ("at", slots.Count * width.Lanes), ("chunkUnit", width.Lanes) }, () =>
            {
                _w.Line(_model.Cell.Backward(width, gradients, tile.Chunks == 1 ? "unit" : "unit + chunkUnit"));
                for (int s = 0; s < slots.Count; s++)
                {
                    _w.Line(width.Store(gradients[s], "d", Offset("at", s * width.Lanes, tile.Chunks)));
                }
            });
        }

        _w.Line();
    }

    // Every stream's share of one step back through a tile: the bias's gradient, then per column the weight gradient
    // (loaded once, each stream's d · x[j] added in stream order) and each stream's input gradient dx[j] += Σ W·d. Chunks
    // are a loop (training keeps float32 weights, whose layout steps by a constant per chunk), so the tile's size does
    // not grow with its units.
    private void EmitStreamsBackwardTile(KernelShape shape, VectorWidth width, TileLayout tile)
    {
        var slots = shape.Slots;
        int streams = BackwardStreams;
        int lanes = width.Lanes;
        int scratch = tile.Chunks * slots.Count * lanes;
        _w.Line($"// A tile of {Literals.Int(tile.Chunks * lanes)} units × ({string.Join(", ", slots.Select(s => s.Name))}) for {Literals.Int(streams)} streams, from their gate gradients in d: the gradients of the bias and {Literals.Int(shape.Input)} input and {Literals.Int(shape.Recurrent)} recurrent columns, and of their inputs.");
        using (_w.Open($"private static void {shape.StreamsTileName(width, tile.Chunks, KernelVariant.Backward)}(ref Weight w, ref float dw, ref float x, nuint xStride, ref float h, ref float d, ref float dx, ref float dhPrev)"))
        {
            for (int n = 1; n < streams; n++)
            {
                _w.Line($"ref float {StreamRef("d", n)} = ref Unsafe.Add(ref d, {Literals.Int(n * scratch)});");
            }

            for (int n = 1; n < streams; n++)
            {
                _w.Line($"ref float {StreamRef("x", n)} = ref Unsafe.Add(ref x, {Multiple(n, "xStride")});");
                _w.Line($"ref float {StreamRef("dx", n)} = ref Unsafe.Add(ref dx, {Multiple(n, "xStride")});");
                _w.Line($"ref float {StreamRef("h", n)} = ref Unsafe.Add(ref h, {Multiple(n, "PaddedHidden")});");
                _w.Line($"ref float {StreamRef("dhPrev", n)} = ref Unsafe.Add(ref dhPrev, {Multiple(n, "PaddedHidden")});");
            }

            // The bias of (chunk, slot) is where d keeps its gradient: both in (chunk, slot) order.
            ForEachChunk(tile.Chunks, new[] { ("at", slots.Count * lanes) }, () =>
            {
                for (int s = 0; s < slots.Count; s++)
                {
                    string at = Offset("at", s * lanes, tile.Chunks);
                    var terms = new[] { width.Load("dw", at) }.Concat(Enumerable.Range(0, streams).Select(n => width.Load(n == 0 ? "d" : StreamRef("d", n), at)));
                    _w.Line(width.Store(string.Join(" + ", terms), "dw", at));
                }
            });

            bool byChunk = BackwardByChunk(shape, width);
            if (byChunk)
            {
                _w.Line($"{width.Type} weight;");
                if (tile.Chunks > 1)
                {
                    _w.Line($"Span<{width.Type}> partial = stackalloc {width.Type}[{Literals.Int(BackwardColumnBlock * streams)}]; // a block's Σ W·d per (column, stream), from one chunk to the next");
                    _w.Line("ref " + width.Type + " sums = ref MemoryMarshal.GetReference(partial);");
                }
                else
                {
                    // One chunk: its gate gradients stay in registers for every column.
                    LoadGateGradients(shape, width, shape.InputSlots.Concat(shape.RecurrentSlots).Distinct().OrderBy(slot => slot), streams, chunks: 1);
                }
            }
            else
            {
                _w.Line($"{width.Type} weight, {string.Join(", ", Enumerable.Range(0, streams).Select(n => "g" + Literals.Int(n)))};");
            }

            _w.Line($"ref Weight wx = ref Unsafe.Add(ref w, {Literals.Int(tile.InputOffset)});");
            _w.Line($"ref float dwx = ref Unsafe.Add(ref dw, {Literals.Int(tile.InputOffset)});");
            EmitStreamsBackwardColumns(shape, width, "x", "dx", shape.Input, shape.InputSlots, tile.Chunks, tile.InputColumnStride, streams, byChunk);
            if (shape.Recurrent > 0)
            {
                _w.Line($"ref Weight wh = ref Unsafe.Add(ref w, {Literals.Int(tile.RecurrentOffset)});");
                _w.Line($"ref float dwh = ref Unsafe.Add(ref dw, {Literals.Int(tile.RecurrentOffset)});");
                EmitStreamsBackwardColumns(shape, width, "h", "dhPrev", shape.Recurrent, shape.RecurrentSlots, tile.Chunks, tile.RecurrentColumnStride, streams, byChunk);
            }
        }

        _w.Line();
    }

    // Columns a chunk-by-chunk backward tile takes per block (BackwardByChunk): their sums between chunks, 4 KB of stack.
    private const int BackwardColumnBlock = 16;

    // Whether the streams backward tile goes chunk by chunk over blocks of columns, each chunk's gate gradients held in
    // registers for the block: on the 32-register width with float32 weights. Column by column, each weight vector's
    // gate gradients were loaded again for every column, 4 loads per 8 multiply-adds, so the tile waited on loads (a
    // TrainStep at (16, 64) and (32, 128) 13-20 % faster by chunk; bench/RESULTS.md). The 16-register widths cannot hold
    // a chunk's gradients.
    private static bool BackwardByChunk(KernelShape shape, VectorWidth width) =>
        width.Lanes == 16 && shape.Storage == WeightStorage.Float32;

    // A column's weight vectors are (chunk, reading slot) in order; d's are (chunk, slot). Per weight vector, the same sums
    // as the backward tile's, stream by stream; each stream's Σ W·d starts at zero, as exact as the tile's first product.
    // By chunk (BackwardByChunk), the same sums in the same order: a column's Σ W·d waits in partial between chunks.
    private void EmitStreamsBackwardColumns(KernelShape shape, VectorWidth width, string source, string target, int columns, int[] reading, int chunks, int stride, int streams, bool byChunk)
    {
        if (byChunk)
        {
            EmitStreamsBackwardColumnsByChunk(shape, width, source, target, columns, reading, chunks, stride, streams);
            return;
        }

        int lanes = width.Lanes;
        ForEachColumn(source, columns, 0, stride, sectionDeclared: true, withGradients: true, (index, name, weights, columnOffset, column) =>
        {
            string sum = target + name.Substring(source.Length);
            for (int n = 0; n < streams; n++)
            {
                _w.Line($"var {name}s{Literals.Int(n)} = {width.Broadcast(n == 0 ? source : StreamRef(source, n), index)};");
                _w.Line($"var {sum}s{Literals.Int(n)} = {width.Zero};");
            }

            string gradients = "d" + weights; // dwx or dwh, or dwj in the loop
            var storage = _model.Spec.Storage;
            int chunkStep = KernelLayout.ColumnVector(storage, 0, reading.Length, stride, lanes);
            ForEachChunk(chunks, new[] { ("at", chunkStep), ("from", shape.Slots.Count * lanes) }, () =>
            {
                for (int v = 0; v < reading.Length; v++)
                {
                    string at = Offset("at", columnOffset + KernelLayout.ColumnVector(storage, 0, v, stride, lanes), chunks);
                    string from = Offset("from", reading[v] * lanes, chunks);
                    _w.Line($"weight = {width.LoadWeight(storage, weights, at, column)};");
                    for (int n = 0; n < streams; n++)
                    {
                        _w.Line($"g{Literals.Int(n)} = {width.Load(n == 0 ? "d" : StreamRef("d", n), from)};");
                    }

                    EmitBackwardWeightVector(width, gradients, at, n => "g" + Literals.Int(n), n => $"{name}s{Literals.Int(n)}", n => $"{sum}s{Literals.Int(n)}", streams);
                }
            });

            EmitBackwardSumsInto(width, target, index, n => $"{sum}s{Literals.Int(n)}", streams);
        }, rolled: true);
    }

    // Blocks of BackwardColumnBlock columns; per block, chunk by chunk: the chunk's gate gradients of every stream into
    // registers, then each column of the block with them. A stream's Σ W·d of a column starts at zero in the first chunk,
    // waits in sums between chunks and goes to its target after the last, so the sums are the column-by-column tile's.
    private void EmitStreamsBackwardColumnsByChunk(KernelShape shape, VectorWidth width, string source, string target, int columns, int[] reading, int chunks, int stride, int streams)
    {
        int lanes = width.Lanes;
        int block = System.Math.Min(columns, BackwardColumnBlock);
        int chunkStep = KernelLayout.ColumnVector(WeightStorage.Float32, 0, reading.Length, stride, lanes);
        // Columns that fit one block need no loop over blocks; one column, no loop at all.
        bool blocks = columns > block;
        if (!blocks)
        {
            Block();
            return;
        }

        using (_w.Open($"for (nuint first = 0; first < {Literals.Int(columns)}; first += {Literals.Int(block)})"))
        {
            _w.Line(columns % block == 0
                ? $"nuint end = first + {Literals.Int(block)};"
                : $"nuint end = Math.Min(first + {Literals.Int(block)}, {Literals.Int(columns)});");
            Block();
        }

        void Block() => ForEachChunk(chunks, new[] { ("at", chunkStep), ("from", shape.Slots.Count * lanes) }, () =>
        {
            if (chunks > 1)
            {
                LoadGateGradients(shape, width, reading, streams, chunks);
            }

            if (columns == 1)
            {
                Column("0", "w" + source, "dw" + source, "0");
                return;
            }

            using (_w.Open($"for (nuint j = {(blocks ? "first" : "0")}; j < {(blocks ? "end" : Literals.Int(columns))}; j++)"))
            {
                _w.Line($"ref Weight wj = ref Unsafe.Add(ref w{source}, j * {Literals.Int(stride)});");
                _w.Line($"ref float dwj = ref Unsafe.Add(ref dw{source}, j * {Literals.Int(stride)});");
                Column("j", "wj", "dwj", blocks ? "(j - first)" : "j");
            }
        });

        // One column j, weights and their gradients at weights and gradients; its sums at sums + inBlock × streams.
        void Column(string j, string weights, string gradients, string inBlock)
        {
            if (chunks > 1)
            {
                string at = inBlock == "0" ? "sums" : $"Unsafe.Add(ref sums, {inBlock} * {Literals.Int(streams)})";
                _w.Line($"ref {width.Type} sum = ref {at};");
            }

            for (int n = 0; n < streams; n++)
            {
                string start = chunks == 1 ? width.Zero : $"chunk == 0 ? {width.Zero} : {VectorWidth.Element("sum", Literals.Int(n))}";
                _w.Line($"var {Input(n)} = {width.Broadcast(n == 0 ? source : StreamRef(source, n), j)};");
                _w.Line($"var {Sum(n)} = {start};");
            }

            for (int v = 0; v < reading.Length; v++)
            {
                string at = Offset("at", KernelLayout.ColumnVector(WeightStorage.Float32, 0, v, stride, lanes), chunks);
                _w.Line($"weight = {width.Load(weights, at)};");
                int slot = reading[v];
                EmitBackwardWeightVector(width, gradients, at, n => GateGradient(shape, slot, n), Input, Sum, streams);
            }

            if (chunks == 1)
            {
                EmitBackwardSumsInto(width, target, j, Sum, streams);
                return;
            }

            using (_w.Open($"if (chunk < {Literals.Int(chunks - 1)})"))
            {
                for (int n = 0; n < streams; n++)
                {
                    _w.Line($"{VectorWidth.Element("sum", Literals.Int(n))} = {Sum(n)};");
                }
            }

            using (_w.Open("else"))
            {
                EmitBackwardSumsInto(width, target, j, Sum, streams);
            }
        }

        string Input(int n) => $"{source}js{Literals.Int(n)}";
        string Sum(int n) => $"{target}js{Literals.Int(n)}";
    }

    // One weight vector of a backward column (the caller has loaded it into weight): its gradient at gradients + at gets
    // each stream's gate gradient × input, in stream order, and each stream's Σ W·d gets weight × gate gradient. Both
    // backward tiles emit it, so they add the same products in the same order.
    private void EmitBackwardWeightVector(VectorWidth width, string gradients, string at, Func<int, string> gateGradient, Func<int, string> input, Func<int, string> sum, int streams)
    {
        string update = width.Load(gradients, at);
        for (int n = 0; n < streams; n++)
        {
            // In stream order: the scalar path's a * b + c needs the parentheses to keep it.
            update = width.MultiplyAdd(gateGradient(n), input(n), width.IsScalar && n > 0 ? $"({update})" : update);
        }

        _w.Line(width.Store(update, gradients, at));
        for (int n = 0; n < streams; n++)
        {
            _w.Line($"{sum(n)} = {width.MultiplyAdd("weight", gateGradient(n), sum(n))};");
        }
    }

    // Each stream's Σ W·d of column index, summed across its lanes, into its target (dx or dL/dh_{t-1}).
    private void EmitBackwardSumsInto(VectorWidth width, string target, string index, Func<int, string> sum, int streams)
    {
        for (int n = 0; n < streams; n++)
        {
            _w.Line($"{VectorWidth.Element(n == 0 ? target : StreamRef(target, n), index)} += {width.Sum(sum(n))};");
        }
    }

    // Each stream's gate gradients of these slots (of the chunk at from) into registers.
    private void LoadGateGradients(KernelShape shape, VectorWidth width, IEnumerable<int> slots, int streams, int chunks)
    {
        foreach (int slot in slots)
        {
            string from = Offset("from", slot * width.Lanes, chunks);
            _w.Line(string.Join(" ", Enumerable.Range(0, streams).Select(n => $"var {GateGradient(shape, slot, n)} = {width.Load(n == 0 ? "d" : StreamRef("d", n), from)};")));
        }
    }

    // e.g. dnhs2: stream 2's gradient of slot nh, in a register.
    private static string GateGradient(KernelShape shape, int slot, int stream) => "d" + shape.Slots[slot].Name + "s" + Literals.Int(stream);

    // A loop over a tile's chunks (or, for one chunk, its body alone) with one offset per (name, floats per chunk).
    private void ForEachChunk(int chunks, (string Name, int Step)[] offsets, Action body)
    {
        if (chunks == 1)
        {
            body();
            return;
        }

        using (_w.Open($"for (nuint chunk = 0; chunk < {Literals.Int(chunks)}; chunk++)"))
        {
            foreach (var (name, step) in offsets)
            {
                _w.Line($"nuint {name} = chunk * {Literals.Int(step)};");
            }

            body();
        }
    }

    // An offset within a chunk: from the chunk loop's offset, or a constant when the tile has one chunk.
    private static string Offset(string chunkOffset, int within, int chunks) =>
        chunks == 1 ? Literals.Int(within) : within == 0 ? chunkOffset : $"{chunkOffset} + {Literals.Int(within)}";

    // e.g. i0s2: slot i, chunk 0 of the group, stream 2.
    private static string StreamAccumulator(KernelShape shape, int slot, int chunk, int stream) => Accumulator(shape, slot, chunk) + "s" + Literals.Int(stream);

    // e.g. wi0: the weight vector of slot i, chunk 0, in the current column.
    private static string WeightLocal(KernelShape shape, int slot, int chunk) => "w" + Accumulator(shape, slot, chunk);

    // e.g. hStream2: stream 2's h.
    private static string StreamRef(string name, int stream) => name + "Stream" + Literals.Int(stream);

    private static string Multiple(int n, string stride) => n == 1 ? stride : $"{Literals.Int(n)} * {stride}";
}
