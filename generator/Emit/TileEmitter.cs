using System;
using System.Collections.Generic;
using System.Linq;
using Embedded.Rnn.Generator.Layout;

namespace Embedded.Rnn.Generator.Emit;

/// <summary>
/// Emits the size-specific part of the model: for one kernel shape, path and variant, the kernel that runs its tiles in
/// order and each tile's unrolled code. A tile keeps one accumulator per (chunk of units, slot) in registers, starts them
/// at the bias and streams every weight once, in the shared <see cref="BlockLayout"/> order. Inference stores the
/// pre-activations and lets the cell's pointwise operator finish after the last tile, except in a layer of one tile, which
/// calls the cell's step per chunk on its accumulators; training's forward pass calls the cell's record step per chunk;
/// backward calls the cell's backward step, then accumulates weight gradients and back-propagates into the input and the
/// previous state. The multi-stream tiles are in <c>TileEmitter.Streams.cs</c>.
/// </summary>
internal sealed partial class TileEmitter(ModelFacts model, SourceWriter writer)
{
    /// <summary>Column loops up to this length are fully unrolled; longer ones by <see cref="UnrollFactor"/>.</summary>
    internal const int FullUnrollLimit = 16;

    internal const int UnrollFactor = 4;

    /// <summary>A layer's only tile with at most this many accumulators runs the cell's step itself (<see cref="StepsInTile"/>).</summary>
    private const int MaxStepAccumulators = 4;

    private readonly ModelFacts _model = model;
    private readonly SourceWriter _w = writer;

    /// <summary>The arguments of a call of the kernel, each a ref to the local of the parameter's name.</summary>
    public string Arguments(KernelShape shape, VectorWidth width, KernelVariant variant) =>
        string.Join(", ", ParameterNames(shape, width, variant, tile: false).Select(name => name == Reversed ? name : "ref " + name));

    /// <summary>
    /// Whether the kernel takes <c>bool reversed</c>: a projected step of several tiles, whose caller reverses the tiles'
    /// order every other step. A step that streams its recurrent weights from L2 then starts on the tiles the step before
    /// ended on, still in L1 (bench/RESULTS.md, "Whole sequences again": LSTM (16, 64) Run 0.91 → 0.74 of a Step).
    /// </summary>
    public bool TakesReversed(KernelShape shape, VectorWidth width, KernelVariant variant) =>
        variant == KernelVariant.Projected && shape.Kind == KernelKind.Layer && !IsOneTile(shape, width);

    private const string Reversed = "reversed";

    /// <summary>Whether the kernel takes <c>pre</c>, the state's scratch for pre-activations.</summary>
    public bool TakesPre(KernelShape shape, VectorWidth width, KernelVariant variant) => ParameterNames(shape, width, variant, tile: false).Contains("pre");

    /// <summary>The kernel's parameters, as declared (tiles add <c>nuint unit</c>, the first unit they compute).</summary>
    public string Parameters(KernelShape shape, VectorWidth width, KernelVariant variant, bool tile = false) =>
        string.Join(", ", ParameterNames(shape, width, variant, tile).Select(name => name switch
        {
            "w" => "ref Weight w",
            "unit" => "nuint unit",
            Reversed => "bool reversed",
            _ => "ref float " + name,
        }));

    // Every kernel and tile takes refs to its buffers; the names are the ones the cells' calls use (CellDefinition).
    private string[] ParameterNames(KernelShape shape, VectorWidth width, KernelVariant variant, bool tile)
    {
        bool layer = shape.Kind == KernelKind.Layer;
        string[] names = shape.Pass is { } pass
            ? variant switch
            {
                KernelVariant.Backward => new[] { "w", "dw", pass.Vector, "tape", "dh", shape.RecurrentGradient },
                KernelVariant.Record => new[] { "w", pass.Vector, "h", "tape", "hNew" },
                _ => new[] { "w", pass.Vector, "pre" },
            }
            : variant switch
            {
                KernelVariant.Backward when layer => new[] { "w", "dw", "x", "h", "c", "tape", "dh", "dc", "dx", "dhPrev" },
                KernelVariant.Backward => new[] { "w", "dw", "x", "dz", "dx" },
                KernelVariant.Record => new[] { "w", "x", "h", "c", "tape", "hNew", "cNew" },
                _ when !layer => new[] { "w", "x", "pre" },
                // A layer's only tile (and so its kernel) finishes the step itself, in place, with no pre.
                _ when StepsInTile(shape, width, variant) => _model.Cell.HasCellState ? new[] { "w", "x", "h", "c" } : new[] { "w", "x", "h" },
                // A layer's inference tiles only read h; the kernel also passes c on to the cell's step when there is one.
                _ when tile || !_model.Cell.HasCellState => new[] { "w", "x", "h", "pre" },
                _ => new[] { "w", "x", "h", "c", "pre" },
            };
        if (variant == KernelVariant.Projected)
        {
            // The step starts from its input projection instead of reading x.
            names = names.Select(name => name == "x" ? "proj" : name).ToArray();
        }

        return tile ? names.Concat(new[] { "unit" }).ToArray()
            : TakesReversed(shape, width, variant) ? names.Concat(new[] { Reversed }).ToArray()
            : names;
    }

    // A layer of one small tile (and no second pass) goes from its accumulators straight to the new h (and c) through the
    // cell's step: all of h is read before the first chunk's step writes it, and the pre-activations never make the round
    // trip through pre. Where a step is one dependent chain, that is two store-to-load latencies less per step (LSTM, GRU
    // and RNN (1, 8): 13-14 % faster); with more than MaxStepAccumulators accumulators the rolled activation loops won
    // (LSTM (8, 32), two chunks of four gates: 7 % slower in one tile).
    private bool StepsInTile(KernelShape shape, VectorWidth width, KernelVariant variant) =>
        IsInference(variant) && shape.Kind == KernelKind.Layer && _model.SecondPassShape is null
        && IsOneTile(shape, width) && shape.Block(width).Chunks * shape.Slots.Count <= MaxStepAccumulators;

    // Inference, from x or from the input projection.
    private static bool IsInference(KernelVariant variant) => variant is KernelVariant.Inference or KernelVariant.Projected;

    // Whether the shape's units fit one tile on this width: its kernel is then one dependent chain per step.
    private static bool IsOneTile(KernelShape shape, VectorWidth width)
    {
        var block = shape.Block(width);
        return block.Chunks <= block.ChunksPerTile;
    }

    /// <summary>
    /// A layer's or the head's kernel, then its tiles. With a cell's second pass, a layer's kernel also calls the pass's
    /// tiles (after the first pass; backward, before it), whose weights follow the first pass's in the block; the pass's
    /// tiles are the same for every layer, and <see cref="EmitTiles"/> emits them once.
    /// </summary>
    public void EmitKernel(KernelShape shape, VectorWidth width, KernelVariant variant)
    {
        var block = shape.Block(width);
        var pass = shape.Kind == KernelKind.Layer ? _model.SecondPassShape : null;
        int passStart = pass is null ? 0 : KernelLayout.PassStart(new[] { block, pass.Block(width) }, 1);
        _w.Line("// " + Summary(shape, width, variant, block));
        if (IsInference(variant) && shape.Kind == KernelKind.Layer && !StepsInTile(shape, width, variant))
        {
            // A call of its own: inlined through Step or Run (which inline their layer step), the kernel left the JIT no
            // budget to inline the activations of the pointwise step, which became a call per vector. (A layer
            // of one tile gives its tile that call instead: EmitTile.)
            _w.Line("[MethodImpl(MethodImplOptions.NoInlining)]");
        }

        using (_w.Open($"private static void {shape.Name(width, variant)}({Parameters(shape, width, variant)})"))
        {
            if (pass is not null && variant == KernelVariant.Backward)
            {
                _w.Line(pass.Pass!.BeginBackward);
                EmitTileCalls(pass, width, variant, passStart);
            }

            EmitTileCalls(shape, width, variant, 0, alternate: TakesReversed(shape, width, variant));
            if (pass is not null && variant != KernelVariant.Backward)
            {
                if (IsInference(variant))
                {
                    _w.Line(pass.Pass!.Prepare(width, block.Chunks * width.Lanes));
                }

                // The second pass reads no input: a projected step runs the same pass tiles as any other.
                EmitTileCalls(pass, width, variant == KernelVariant.Projected ? KernelVariant.Inference : variant, passStart);
            }

            if (IsInference(variant) && shape.Kind == KernelKind.Layer && !StepsInTile(shape, width, variant))
            {
                _w.Line(_model.Cell.Activate(width, block.Chunks * width.Lanes));
            }
        }

        _w.Line();
        EmitTiles(shape, width, variant);
    }

    /// <summary>The tiles of one kernel shape, path and variant: a full tile and, when the chunks do not divide, the last one.</summary>
    public void EmitTiles(KernelShape shape, VectorWidth width, KernelVariant variant)
    {
        var block = shape.Block(width);
        EmitTile(shape, width, variant, block.Tile(block.ChunksPerTile));
        if (block.RemainderChunks > 0)
        {
            EmitTile(shape, width, variant, block.Tile(block.RemainderChunks));
        }
    }

    // The calls of a shape's tiles in order, its packed weights (and gradients) starting at passOffset in the block; with
    // alternate, in reverse order when the kernel's reversed is set (TakesReversed).
    private void EmitTileCalls(KernelShape shape, VectorWidth width, KernelVariant variant, int passOffset, bool alternate = false)
    {
        var block = shape.Block(width);
        int tileLength = block.Tile(block.ChunksPerTile).Length;
        int tileUnits = block.ChunksPerTile * width.Lanes;
        string Call(int chunks, string tileOffset, string unit)
        {
            var arguments = ParameterNames(shape, width, variant, tile: true).Select(name => name switch
            {
                "unit" => unit,
                // The packed weights and gradients advance to the tile's start.
                "w" or "dw" when tileOffset != "0" => $"ref Unsafe.Add(ref {name}, {tileOffset})",
                _ when name == shape.Pass?.Vector => variant == KernelVariant.Inference ? shape.Pass.InferenceVector : shape.Pass.TapeVector,
                _ when shape.Pass is not null && name == shape.RecurrentGradient => shape.Pass.TapeGradient,
                _ => "ref " + name,
            });
            return $"{shape.TileName(width, chunks, variant)}({string.Join(", ", arguments)});";
        }

        string Offset(string tileOffset) => passOffset == 0 ? tileOffset
            : tileOffset == "0" ? Literals.Int(passOffset)
            : $"{Literals.Int(passOffset)} + {tileOffset}";

        string Remainder() => Call(block.RemainderChunks, Literals.Int(passOffset + block.FullTiles * tileLength), Literals.Int(block.FullTiles * tileUnits));
        if (alternate)
        {
            _w.Line("// Every other step backwards: it starts on the weights the step before ended on, still in L1.");
            if (block.RemainderChunks > 0)
            {
                using (_w.Open("if (reversed)"))
                {
                    _w.Line(Remainder());
                }
            }
        }

        if (block.FullTiles == 1)
        {
            _w.Line(Call(block.ChunksPerTile, Offset("0"), "0"));
        }
        else if (block.FullTiles > 1)
        {
            using (_w.Open(alternate
                ? $"for (nuint next = 0; next < {Literals.Int(block.FullTiles)}; next++)"
                : $"for (nuint tile = 0; tile < {Literals.Int(block.FullTiles)}; tile++)"))
            {
                if (alternate)
                {
                    _w.Line($"nuint tile = reversed ? {Literals.Int(block.FullTiles - 1)} - next : next;");
                }

                _w.Line(Call(block.ChunksPerTile, Offset($"tile * {Literals.Int(tileLength)}"), $"tile * {Literals.Int(tileUnits)}"));
            }
        }

        if (block.RemainderChunks > 0)
        {
            if (alternate)
            {
                using (_w.Open("if (!reversed)"))
                {
                    _w.Line(Remainder());
                }
            }
            else
            {
                _w.Line(Remainder());
            }
        }
    }

    // e.g. "One step of a layer with 8 input and 32 recurrent columns on Vector512: 1 tile of 32 units × (i, f, g, o), then
    // the LSTM's pointwise step."
    private string Summary(KernelShape shape, VectorWidth width, KernelVariant variant, BlockLayout block)
    {
        string tiles = block.RemainderChunks == 0
            ? ModelFacts.Plural(block.FullTiles, "tile") + $" of {Literals.Int(block.ChunksPerTile * width.Lanes)} units"
            : block.FullTiles == 0
                ? $"1 tile of {Literals.Int(block.RemainderChunks * width.Lanes)} units"
                : ModelFacts.Plural(block.FullTiles, "tile") + $" of {Literals.Int(block.ChunksPerTile * width.Lanes)} units and 1 of {Literals.Int(block.RemainderChunks * width.Lanes)}";
        if (block.Chunks * width.Lanes != shape.Units)
        {
            // Units past the real ones are padding: zero weights and bias, so they stay zero.
            tiles += $" ({Literals.Int(shape.Units)} real, padded to whole vectors)";
        }

        string slots = string.Join(", ", shape.Slots.Select(s => s.Name));
        if (shape.Kind == KernelKind.Head)
        {
            string what = variant == KernelVariant.Backward ? "Back-propagates the dense head" : "The dense head's pre-activations";
            return $"{what} on {width.Name} ({Literals.Int(shape.Input)} inputs → {Literals.Int(shape.Units)} outputs): {tiles}.";
        }

        string sizes = $"{Literals.Int(shape.Input)} input and {Literals.Int(shape.Recurrent)} recurrent columns";
        if (_model.SecondPassShape is { Pass: { } pass } second)
        {
            string passSlots = string.Join(", ", second.Slots.Select(s => s.Name));
            return variant switch
            {
                KernelVariant.Record => $"Training's forward step of a layer with {sizes} on {width.Name}, keeping the tape: {tiles} × ({slots}), then {pass.Title}'s tiles × ({passSlots}).",
                KernelVariant.Backward => $"Back-propagates one step of a layer with {sizes} on {width.Name}: {pass.Title}'s tiles × ({passSlots}) first, then {tiles} × ({slots}).",
                KernelVariant.Projected => $"One step of a layer with {sizes} on {width.Name} from its input projection (proj: the bias and input columns, done): {tiles} × ({slots}), then {pass.Title} and its tiles × ({passSlots}), then the {_model.Cell.Title}'s pointwise step.",
                _ => $"One step of a layer with {sizes} on {width.Name}: {tiles} × ({slots}), then {pass.Title} and its tiles × ({passSlots}), then the {_model.Cell.Title}'s pointwise step.",
            };
        }

        if (variant == KernelVariant.Projected)
        {
            return $"One step of a layer with {sizes} on {width.Name} from its input projection (proj: the bias and input columns, done): {tiles} × ({slots}), then the {_model.Cell.Title}'s pointwise step.";
        }

        return variant switch
        {
            KernelVariant.Record => $"Training's forward step of a layer with {sizes} on {width.Name}, keeping the tape: {tiles} × ({slots}).",
            KernelVariant.Backward => $"Back-propagates one step of a layer with {sizes} on {width.Name}: {tiles} × ({slots}).",
            _ => $"One step of a layer with {sizes} on {width.Name}: {tiles} × ({slots}), then the {_model.Cell.Title}'s pointwise step.",
        };
    }

    private void EmitTile(KernelShape shape, VectorWidth width, KernelVariant variant, TileLayout tile)
    {
        string units = tile.Chunks * width.Lanes == 1 ? "Unit unit" : $"Units unit .. unit + {Literals.Int(tile.Chunks * width.Lanes - 1)}";
        string columns = shape.Pass is { } pass ? $"{Literals.Int(shape.Recurrent)} columns of {pass.Title}"
            : variant == KernelVariant.Projected ? $"{Literals.Int(shape.Recurrent)} recurrent columns"
            : shape.Recurrent > 0 ? $"{Literals.Int(shape.Input)} input and {Literals.Int(shape.Recurrent)} recurrent columns"
            : $"{Literals.Int(shape.Input)} input columns";
        int sets = variant == KernelVariant.Backward ? 1 : PartialSums(shape, width, tile.Chunks);
        string first = sets > 1 ? shape.Slots[shape.RecurrentSlots[0]].Name + "0" : string.Empty;
        string chains = sets > 1 ? $"; the recurrent columns take turns over {Literals.Int(sets)} partial sums ({first}, {first}_1, ...: shorter dependency chains)" : string.Empty;
        _w.Line("// " + units + " of " + string.Join(", ", shape.Slots.Select(s => s.Name)) + variant switch
        {
            KernelVariant.Backward => $": the pointwise backward step, then the gradients of the bias and {columns}, and of their inputs.",
            KernelVariant.Record => $": the bias plus {columns}{chains}, then the {_model.Cell.Title}'s forward step keeping the tape.",
            KernelVariant.Projected when StepsInTile(shape, width, variant) => $": the step's input projection plus {columns}{chains}{RecurrentScaling(shape)}, then the {_model.Cell.Title}'s pointwise step.",
            KernelVariant.Projected => $": the step's input projection plus {columns}{chains}{RecurrentScaling(shape)}, into pre.",
            _ when StepsInTile(shape, width, variant) => $": {Sums(shape)} {columns}{chains}, then the {_model.Cell.Title}'s pointwise step.",
            _ => $": {Sums(shape)} {columns}{chains}, into pre.",
        });
        if (StepsInTile(shape, width, variant))
        {
            // Its own call, for the JIT's inlining budget: inlined into the kernel, the tile left none for the activations of
            // the cell's step, and sigmoid and tanh became calls with their vectors spilled (GRU (1, 8) 13 % slower).
            _w.Line("[MethodImpl(MethodImplOptions.NoInlining)]");
        }

        using (_w.Open($"private static void {shape.TileName(width, tile.Chunks, variant)}({Parameters(shape, width, variant, tile: true)})"))
        {
            if (variant == KernelVariant.Backward)
            {
                EmitBackwardTile(shape, width, tile);
            }
            else
            {
                EmitForwardTile(shape, width, variant, tile);
            }
        }

        _w.Line();
    }

    // Accumulators start at the bias; every input and recurrent column is streamed once; then the pre-activations go to
    // pre (inference) or through the cell's record step (training). A projected step's accumulators start at its input
    // projection instead (the bias and input columns, as a projection tile left them), and it streams the recurrent columns.
    private void EmitForwardTile(KernelShape shape, VectorWidth width, KernelVariant variant, TileLayout tile)
    {
        var slots = shape.Slots;
        int chunks = tile.Chunks;
        bool projected = variant == KernelVariant.Projected;
        if ((!projected || shape.Storage == WeightStorage.Int8) && VectorWidth.HeaderDeclaration(shape.Storage, "w") is { } header)
        {
            _w.Line(header);
        }

        for (int k = 0; k < chunks; k++)
        {
            for (int s = 0; s < slots.Count; s++)
            {
                string start = projected ? width.Load("proj", Unit(k * width.Lanes + (shape.FirstSlot + s) * _model.PaddedHidden)) : Start(shape, width, tile, "w", k, s);
                _w.Line($"var {Accumulator(shape, s, k)} = {start};");
            }
        }

        if (!projected)
        {
            EmitColumns(width, "x", null, shape.Input, shape.InputSlots, chunks, tile.InputOffset, tile.InputColumnStride, slots, sets: 1);
            ScaleInputSums(shape, width, tile, "w", chunks, (k, s) => new[] { Accumulator(shape, s, k) });
        }
        if (shape.Recurrent > 0)
        {
            int sets = PartialSums(shape, width, chunks);

            if (shape.Recurrent > FullUnrollLimit)
            {
                // A rolled loop adds to every partial sum in each iteration: they exist before it. (Unrolled columns
                // declare each partial sum at its first column instead.)
                for (int set = 1; set < sets; set++)
                {
                    for (int k = 0; k < chunks; k++)
                    {
                        foreach (int s in shape.RecurrentSlots)
                        {
                            _w.Line($"var {PartialSum(Accumulator(shape, s, k), set)} = {width.Zero};");
                        }
                    }
                }
            }

            EmitColumns(width, shape.RecurrentSource, null, shape.Recurrent, shape.RecurrentSlots, chunks, tile.RecurrentOffset, tile.RecurrentColumnStride, slots, sets);
            for (int k = 0; k < chunks; k++)
            {
                foreach (int s in shape.RecurrentSlots)
                {
                    string a = Accumulator(shape, s, k);
                    if (sets == 2)
                    {
                        _w.Line($"{a} += {PartialSum(a, 1)};");
                    }
                    else if (sets == 4)
                    {
                        _w.Line($"{a} = ({a} + {PartialSum(a, 1)}) + ({PartialSum(a, 2)} + {PartialSum(a, 3)});");
                    }
                }
            }

            ScaleRecurrentSums(shape, width, tile, "w", chunks, (k, s) => new[] { Accumulator(shape, s, k) });
        }

        bool steps = StepsInTile(shape, width, variant);
        for (int k = 0; k < chunks; k++)
        {
            if (variant == KernelVariant.Record || steps)
            {
                var accumulators = Enumerable.Range(0, slots.Count).Select(s => Accumulator(shape, s, k)).ToList();
                string unit = Unit(k * width.Lanes);
                _w.Line(steps ? _model.Cell.Step(width, accumulators, unit)
                    : shape.Pass is { } pass ? pass.Record(width, accumulators, unit)
                    : _model.Cell.Record(width, accumulators, unit));
                continue;
            }

            for (int s = 0; s < slots.Count; s++)
            {
                _w.Line(width.Store(Accumulator(shape, s, k), "pre", Unit(k * width.Lanes + (shape.FirstSlot + s) * _model.PaddedHidden)));
            }
        }
    }

    // How a projected tile's comment says its int8 rows are scaled (the input's scale is in the projection already).
    private static string RecurrentScaling(KernelShape shape) => shape.Storage == WeightStorage.Int8 ? ", scaled per row" : string.Empty;

    // How a tile's comment says what its accumulators sum: int8 tiles scale each row's sums by the header's scales.
    private static string Sums(KernelShape shape) => shape.Storage == WeightStorage.Int8 ? "the bias plus, scaled per row of each matrix," : "the bias plus";

    // What accumulator (chunk k, slot s) starts at: the bias, from the tile's header at w. With int8 weights a slot that
    // reads the input starts at zero instead: its columns add unscaled products, and ScaleInputSums adds the bias after them.
    private static string Start(KernelShape shape, VectorWidth width, TileLayout tile, string w, int k, int s) =>
        shape.Storage == WeightStorage.Int8 && shape.InputSlots.Contains(s) ? width.Zero
            : width.LoadHeader(shape.Storage, w, Literals.Int(tile.Bias(k, s)));

    // Int8 weights, after the input columns: sum · (s_ih / s_hh) + b / s_hh, per row, from the tile's header at w
    // (RecurrentPacking.PackInt8 says why the recurrent scale divides them).
    private void ScaleInputSums(KernelShape shape, VectorWidth width, TileLayout tile, string w, int chunks, Func<int, int, IEnumerable<string>> accumulators)
    {
        if (shape.Storage != WeightStorage.Int8)
        {
            return;
        }

        for (int k = 0; k < chunks; k++)
        {
            foreach (int s in shape.InputSlots)
            {
                string scale = width.LoadHeader(shape.Storage, w, Literals.Int(tile.InputScale(k, s)));
                string bias = width.LoadHeader(shape.Storage, w, Literals.Int(tile.Bias(k, s)));
                foreach (string a in accumulators(k, s))
                {
                    _w.Line($"{a} = {width.MultiplyAdd(a, scale, bias)};");
                }
            }
        }
    }

    // Int8 weights, after the recurrent columns: the whole sum times the rows' recurrent scale.
    private void ScaleRecurrentSums(KernelShape shape, VectorWidth width, TileLayout tile, string w, int chunks, Func<int, int, IEnumerable<string>> accumulators)
    {
        if (shape.Storage != WeightStorage.Int8)
        {
            return;
        }

        for (int k = 0; k < chunks; k++)
        {
            foreach (int s in shape.RecurrentSlots)
            {
                string scale = width.LoadHeader(shape.Storage, w, Literals.Int(tile.RecurrentScale(k, s)));
                foreach (string a in accumulators(k, s))
                {
                    _w.Line($"{a} *= {scale};");
                }
            }
        }
    }

    // The cell's backward step gives the gradient of every accumulator; then the weights' gradients (bias, every
    // column) and the gradients of the inputs (x, and h of the step before).
    private void EmitBackwardTile(KernelShape shape, VectorWidth width, TileLayout tile)
    {
        var slots = shape.Slots;
        int chunks = tile.Chunks;
        for (int k = 0; k < chunks; k++)
        {
            var gradients = Enumerable.Range(0, slots.Count).Select(s => "d" + Accumulator(shape, s, k)).ToList();
            string unit = Unit(k * width.Lanes);
            _w.Line(shape.Kind == KernelKind.Head ? $"var {gradients[0]} = {width.Load("dz", unit)};"
                : shape.Pass is { } pass ? pass.Backward(width, gradients, unit)
                : _model.Cell.Backward(width, gradients, unit));
        }

        for (int k = 0; k < chunks; k++)
        {
            for (int s = 0; s < slots.Count; s++)
            {
                string at = Literals.Int(tile.Bias(k, s));
                _w.Line(width.Store($"{width.Load("dw", at)} + d{Accumulator(shape, s, k)}", "dw", at));
            }
        }

        EmitColumns(width, "x", "dx", shape.Input, shape.InputSlots, chunks, tile.InputOffset, tile.InputColumnStride, slots, sets: 1);
        if (shape.Recurrent > 0)
        {
            EmitColumns(width, shape.RecurrentSource, shape.RecurrentGradient, shape.Recurrent, shape.RecurrentSlots, chunks, tile.RecurrentOffset, tile.RecurrentColumnStride, slots, sets: 1);
        }
    }

    // Small tiles are latency-bound: the recurrent columns are one FMA chain per accumulator, on the step-to-step
    // critical path. Spread them over independent partial sums (1, 2 or 4 sets) while registers allow: the layout's
    // accumulator budget for 16 registers; twice that on Vector512 (AVX-512 has 32) in a layer of one tile, which is
    // one dependent chain per step (GRU (8, 32): 11 % faster; with several tiles, GRU (32, 128) ran 20 % slower).
    private static int PartialSums(KernelShape shape, VectorWidth width, int chunks)
    {
        int budget = width.Lanes == 16 && IsOneTile(shape, width) ? 2 * KernelLayout.TargetAccumulators : KernelLayout.TargetAccumulators;
        int sets = 1;
        while (sets < 4 && 2 * sets <= shape.Recurrent &&
               chunks * (shape.Slots.Count + (2 * sets - 1) * shape.RecurrentSlots.Length) <= budget)
        {
            sets *= 2;
        }

        return sets;
    }

    // An accumulator: the slot's name and the chunk, e.g. i0, nh1, y2.
    private static string Accumulator(KernelShape shape, int slot, int chunk) => shape.Slots[slot].Name + Literals.Int(chunk);

    private static string Unit(int offset) => offset == 0 ? "unit" : "unit + " + Literals.Int(offset);

    // Accumulator names: set 0 is the accumulator itself; further sets are partial sums added into it at the end.
    private static string PartialSum(string accumulator, int set) => set == 0 ? accumulator : accumulator + "_" + Literals.Int(set);

    // A tile's columns, forward (a += W·x[j], column j into partial-sum set j % sets) or backward (G += d·x[j] and
    // dx[j] += Σ W·d).
    private void EmitColumns(VectorWidth width, string source, string? target, int columns, int[] reading, int chunks,
        int sectionOffset, int stride, IReadOnlyList<Cells.Slot> slots, int sets)
    {
        ForEachColumn(source, columns, sectionOffset, stride, sectionDeclared: false, withGradients: target is not null, (index, name, weights, columnOffset, column) =>
        {
            _w.Line($"var {name} = {width.Broadcast(source, index)};");
            int vector = 0;
            bool first = true;
            string sum = (target ?? string.Empty) + name.Substring(source.Length);
            for (int k = 0; k < chunks; k++)
            {
                foreach (int s in reading)
                {
                    string at = Literals.Int(WeightPosition(columnOffset, column, vector++, stride, width));
                    string weight = width.LoadWeight(_model.Spec.Storage, weights, at, column);
                    if (target is null)
                    {
                        // Unrolled, a partial sum starts at its set's first column as a product; every other column adds to it.
                        string a = PartialSum(slots[s].Name + Literals.Int(k), column % sets);
                        bool starts = columns <= FullUnrollLimit && column % sets != 0 && column < sets;
                        _w.Line(starts ? $"var {a} = {weight} * {name};" : $"{a} = {width.MultiplyAdd(weight, name, a)};");
                    }
                    else
                    {
                        string d = "d" + slots[s].Name + Literals.Int(k);
                        string gradients = weights == "w" ? "dw" : "dwj";
                        _w.Line(width.Store(width.MultiplyAdd(d, name, width.Load(gradients, at)), gradients, at));
                        _w.Line(first ? $"var {sum} = {weight} * {d};" : $"{sum} = {width.MultiplyAdd(weight, d, sum)};");
                        first = false;
                    }
                }
            }

            if (target is not null)
            {
                _w.Line($"{VectorWidth.Element(target, index)} += {width.Sum(sum)};");
            }
        });
    }

    // What vector `vector` (the (chunk, slot) order) of a column is loaded from (KernelLayout.ColumnVector). The column's
    // callback gets columnOffset, the offset of its first vector had columns not been paired (section start + column ·
    // stride), and the column's index or, in a loop, its place in an iteration (whose parity is the column's: loops step by
    // an even count when columns are paired).
    private int WeightPosition(int columnOffset, int column, int vector, int stride, VectorWidth width) =>
        columnOffset - column * stride + KernelLayout.ColumnVector(_model.Spec.Storage, column, vector, stride, width.Lanes);

    // Column loops: fully unrolled up to FullUnrollLimit columns, else unrolled by UnrollFactor with the remainder written
    // out. For each column: its index expression, its broadcast's name, the ref and offset of its first weight vector (as
    // if columns were not paired: WeightPosition), and its index in the section or in the loop's iteration. The section's
    // weights start at w + sectionOffset, or at the ref w{source} when the caller has declared it. Rolled, it is one loop of
    // one column per iteration, or of one pair of columns when columns are paired.
    private void ForEachColumn(string source, int columns, int sectionOffset, int stride, bool sectionDeclared, bool withGradients,
        Action<string, string, string, int, int> column, bool rolled = false)
    {
        string section = "w" + source, gradientSection = "dw" + source;
        string start = sectionDeclared ? section : "w";
        int factor = !rolled ? UnrollFactor : KernelLayout.PairsColumns(_model.Spec.Storage) ? 2 : 1;
        if (rolled && columns > 1 && factor == 1)
        {
            using (_w.Open($"for (nuint j = 0; j < {Literals.Int(columns)}; j++)"))
            {
                _w.Line($"ref Weight wj = ref Unsafe.Add(ref {section}, j * {Literals.Int(stride)});");
                if (withGradients)
                {
                    _w.Line($"ref float dwj = ref Unsafe.Add(ref {gradientSection}, j * {Literals.Int(stride)});");
                }

                column("j", source + "j", "wj", 0, 0);
            }

            return;
        }

        if (columns <= (rolled ? 1 : FullUnrollLimit))
        {
            for (int j = 0; j < columns; j++)
            {
                column(Literals.Int(j), source + Literals.Int(j), start, sectionOffset + j * stride, j);
            }

            return;
        }

        // The section's start is a local of its own, not folded into the index: the JIT then forms each column's
        // address as base + j·stride and the loads as [address + constant]. Folded, it computes base + 4·(j·stride) +
        // offset per column and GRU (32, 128) on Vector512 ran 6-9 % slower (bench/RESULTS.md, issue 13).
        int main = columns - columns % factor;
        if (!sectionDeclared)
        {
            _w.Line($"ref Weight {section} = ref Unsafe.Add(ref w, {Literals.Int(sectionOffset)});");
            if (withGradients)
            {
                _w.Line($"ref float {gradientSection} = ref Unsafe.Add(ref dw, {Literals.Int(sectionOffset)});");
            }
        }

        using (_w.Open($"for (nuint j = 0; j < {Literals.Int(main)}; j += {Literals.Int(factor)})"))
        {
            _w.Line($"ref Weight wj = ref Unsafe.Add(ref {section}, j * {Literals.Int(stride)});");
            if (withGradients)
            {
                _w.Line($"ref float dwj = ref Unsafe.Add(ref {gradientSection}, j * {Literals.Int(stride)});");
            }

            for (int u = 0; u < factor; u++)
            {
                column(u == 0 ? "j" : "j + " + Literals.Int(u), source + "j" + (u == 0 ? string.Empty : Literals.Int(u)), "wj", u * stride, u);
            }
        }

        for (int j = main; j < columns; j++)
        {
            column(Literals.Int(j), source + Literals.Int(j), start, sectionOffset + j * stride, j);
        }
    }
}
