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
            int tileLength = block.Tile(block.ChunksPerTile).Length;
            int tileUnits = block.ChunksPerTile * width.Lanes;
            if (block.FullTiles == 1)
            {
                EmitStreamsTileCalls(shape, width, block.ChunksPerTile, "w", "0");
            }
            else if (block.FullTiles > 1)
            {
                using (_w.Open($"for (nuint tile = 0; tile < {Literals.Int(block.FullTiles)}; tile++)"))
                {
                    _w.Line($"ref Weight wt = ref Unsafe.Add(ref w, tile * {Literals.Int(tileLength)});");
                    EmitStreamsTileCalls(shape, width, block.ChunksPerTile, "wt", $"tile * {Literals.Int(tileUnits)}");
                }
            }

            if (block.RemainderChunks > 0)
            {
                _w.Line($"ref Weight last = ref Unsafe.Add(ref w, {Literals.Int(block.FullTiles * tileLength)});");
                EmitStreamsTileCalls(shape, width, block.RemainderChunks, "last", Literals.Int(block.FullTiles * tileUnits));
            }

            using (_w.Open($"for (nuint stream = 0; stream < {Literals.Int(streams)}; stream++)"))
            {
                _w.Line("nuint at = stream * StateLength;");
                string w = _model.SecondPassShape is null ? string.Empty : "ref w, ";
                string c = cell ? "ref Unsafe.Add(ref c, at), " : string.Empty;
                _w.Line($"{shape.FinishName(width)}({w}ref Unsafe.Add(ref h, at), {c}ref Unsafe.Add(ref pre, at));");
            }
        }

        _w.Line();
        EmitStreamsTile(shape, width, block.Tile(block.ChunksPerTile));
        if (block.RemainderChunks > 0)
        {
            EmitStreamsTile(shape, width, block.Tile(block.RemainderChunks));
        }

        EmitFinish(shape, width, block);
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
            int tileLength = block.Tile(block.ChunksPerTile).Length;
            int tileUnits = block.ChunksPerTile * width.Lanes;
            if (block.FullTiles == 1)
            {
                EmitStreamsTileCalls(shape, width, block.ChunksPerTile, "w", "0", project: true);
            }
            else if (block.FullTiles > 1)
            {
                using (_w.Open($"for (nuint tile = 0; tile < {Literals.Int(block.FullTiles)}; tile++)"))
                {
                    _w.Line($"ref Weight wt = ref Unsafe.Add(ref w, tile * {Literals.Int(tileLength)});");
                    EmitStreamsTileCalls(shape, width, block.ChunksPerTile, "wt", $"tile * {Literals.Int(tileUnits)}", project: true);
                }
            }

            if (block.RemainderChunks > 0)
            {
                _w.Line($"ref Weight last = ref Unsafe.Add(ref w, {Literals.Int(block.FullTiles * tileLength)});");
                EmitStreamsTileCalls(shape, width, block.RemainderChunks, "last", Literals.Int(block.FullTiles * tileUnits), project: true);
            }
        }

        _w.Line();
        EmitStreamsTile(shape, width, block.Tile(block.ChunksPerTile), project: true);
        if (block.RemainderChunks > 0)
        {
            EmitStreamsTile(shape, width, block.Tile(block.RemainderChunks), project: true);
        }
    }

    // The calls of the streams tile (or with project, the projection tile) over one tile's chunks, a group of StreamChunks at a time.
    private void EmitStreamsTileCalls(KernelShape shape, VectorWidth width, int tileChunks, string weights, string unit, bool project = false)
    {
        int group = StreamChunks(shape, width, tileChunks);
        string name = project ? shape.ProjectTileName(width, tileChunks) : shape.StreamsTileName(width, tileChunks);
        string buffers = project ? "ref x, ref proj" : "ref x, xStride, ref h, ref pre";
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

    // e.g. i0s2: slot i, chunk 0 of the group, stream 2.
    private static string StreamAccumulator(KernelShape shape, int slot, int chunk, int stream) => Accumulator(shape, slot, chunk) + "s" + Literals.Int(stream);

    // e.g. wi0: the weight vector of slot i, chunk 0, in the current column.
    private static string WeightLocal(KernelShape shape, int slot, int chunk) => "w" + Accumulator(shape, slot, chunk);

    // e.g. hStream2: stream 2's h.
    private static string StreamRef(string name, int stream) => name + "Stream" + Literals.Int(stream);

    private static string Multiple(int n, string stride) => n == 1 ? stride : $"{Literals.Int(n)} * {stride}";
}
