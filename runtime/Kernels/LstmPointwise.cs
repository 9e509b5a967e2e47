using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace Embedded.Rnn.Kernels;

/// <summary>
/// The LSTM cell's pointwise maths (PyTorch's equations, gate rows i, f, g, o), on any width:
/// i = σ(·), f = σ(·), g = tanh(·), o = σ(·), c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'). The generated tiles compute the
/// pre-activations; these operators do the rest for inference, for training's forward pass (keeping a tape), and backward.
/// The tape of one step holds i, f, g, o and tanh(c'), each at <c>k · stride</c>.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class LstmPointwise
{
    /// <summary>Values the tape keeps per unit and step.</summary>
    public const int TapeValues = 5;

    /// <summary>
    /// Inference, after the tiles: <paramref name="pre"/> holds the pre-activations of i, f, g, o (gate k at k ·
    /// <paramref name="stride"/>) for <paramref name="units"/> units; c and h are updated in place. Overwrites pre.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Activate<TWidth, TVector>(ref float pre, ref float c, ref float h, nuint units, nuint stride)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
    {
        Pointwise.Apply<TWidth, TVector, SigmoidActivation>(ref pre, ref pre, units);
        Pointwise.Apply<TWidth, TVector, SigmoidActivation>(ref Unsafe.Add(ref pre, stride), ref Unsafe.Add(ref pre, stride), units);
        Pointwise.Apply<TWidth, TVector, TanhActivation>(ref Unsafe.Add(ref pre, 2 * stride), ref Unsafe.Add(ref pre, 2 * stride), units);
        Pointwise.Apply<TWidth, TVector, SigmoidActivation>(ref Unsafe.Add(ref pre, 3 * stride), ref Unsafe.Add(ref pre, 3 * stride), units);
        for (nuint unit = 0; unit < units; unit += TWidth.Lanes)
        {
            UpdateState<TWidth, TVector>(TWidth.Load(ref pre, unit), TWidth.Load(ref pre, unit + stride), TWidth.Load(ref pre, unit + 2 * stride), TWidth.Load(ref pre, unit + 3 * stride), ref c, ref h, unit);
        }
    }

    /// <summary>
    /// Inference for one vector of units at <paramref name="unit"/>, straight from a tile's accumulators: a layer of one
    /// tile calls it in place of storing pre-activations for <see cref="Activate{TWidth, TVector}"/>, which keeps two
    /// store-to-load round trips off a small step's dependent chain. c and h are updated in place.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Step<TWidth, TVector>(TVector preI, TVector preF, TVector preG, TVector preO, ref float c, ref float h, nuint unit)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
    {
        UpdateState<TWidth, TVector>(TWidth.Sigmoid(preI), TWidth.Sigmoid(preF), TWidth.Tanh(preG), TWidth.Sigmoid(preO), ref c, ref h, unit);
    }

    /// <summary>
    /// Training's forward step for one vector of units at <paramref name="unit"/>, from the tile's pre-activations: writes
    /// the new h and c, and the tape (see the class) that <see cref="Backward"/> reads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Record<TWidth, TVector>(TVector preI, TVector preF, TVector preG, TVector preO, ref float cPrevious,
        ref float tape, ref float h, ref float c, nuint unit, nuint stride)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
    {
        var i = TWidth.Sigmoid(preI);
        var f = TWidth.Sigmoid(preF);
        var g = TWidth.Tanh(preG);
        var o = TWidth.Sigmoid(preO);
        var cNew = NewCell<TWidth, TVector>(i, f, g, TWidth.Load(ref cPrevious, unit));
        var tanhC = TWidth.Tanh(cNew);
        TWidth.Store(i, ref tape, unit);
        TWidth.Store(f, ref tape, unit + stride);
        TWidth.Store(g, ref tape, unit + 2 * stride);
        TWidth.Store(o, ref tape, unit + 3 * stride);
        TWidth.Store(tanhC, ref tape, unit + 4 * stride);
        TWidth.Store(cNew, ref c, unit);
        TWidth.Store(NewHidden<TWidth, TVector>(o, tanhC), ref h, unit);
    }

    /// <summary>
    /// Backward for one vector of units: from dL/dh_t (<paramref name="dh"/>), dL/dc_t (<paramref name="dc"/>) and the
    /// tape, the gradients of the four pre-activations; leaves dL/dc_{t-1} in dc.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Backward<TWidth, TVector>(ref float tape, ref float cPrevious, ref float dh, ref float dc, nuint unit, nuint stride,
        out TVector dI, out TVector dF, out TVector dG, out TVector dO)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
    {
        var one = TWidth.One;
        var gradH = TWidth.Load(ref dh, unit);
        var i = TWidth.Load(ref tape, unit);
        var f = TWidth.Load(ref tape, unit + stride);
        var g = TWidth.Load(ref tape, unit + 2 * stride);
        var o = TWidth.Load(ref tape, unit + 3 * stride);
        var tanhC = TWidth.Load(ref tape, unit + 4 * stride);
        var gradC = TWidth.Add(TWidth.Load(ref dc, unit), TWidth.Multiply(TWidth.Multiply(gradH, o), TWidth.Subtract(one, TWidth.Multiply(tanhC, tanhC))));
        dI = TWidth.Multiply(TWidth.Multiply(TWidth.Multiply(gradC, g), i), TWidth.Subtract(one, i));
        dF = TWidth.Multiply(TWidth.Multiply(TWidth.Multiply(gradC, TWidth.Load(ref cPrevious, unit)), f), TWidth.Subtract(one, f));
        dG = TWidth.Multiply(TWidth.Multiply(gradC, i), TWidth.Subtract(one, TWidth.Multiply(g, g)));
        dO = TWidth.Multiply(TWidth.Multiply(TWidth.Multiply(gradH, tanhC), o), TWidth.Subtract(one, o));
        TWidth.Store(TWidth.Multiply(gradC, f), ref dc, unit);
    }

    // c' = f ⊙ c + i ⊙ g and h' = o ⊙ tanh(c'), the one place inference and training compute them. Both are flushed (see
    // Pointwise.SmallestNormal): a long-memory cell (f near 1) otherwise keeps c in subnormals for good, and tanh passes a
    // small c' through as it is, so o ⊙ tanh(c') is subnormal for a c' that is not.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVector CellSum<TWidth, TVector>(TVector i, TVector f, TVector g, TVector c)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct => TWidth.Add(TWidth.Multiply(f, c), TWidth.Multiply(i, g));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVector NewCell<TWidth, TVector>(TVector i, TVector f, TVector g, TVector c)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct => TWidth.FlushSubnormal(CellSum<TWidth, TVector>(i, f, g, c));

    // Inference's update of c and h from the activated gates, for Activate and Step alike. It stores c' flushed but takes
    // tanh of the sum before its flush, which keeps the flush off the step's dependent chain and gives the same h' as
    // training's Record: for |c'| below SmallestNormal, tanh(c') is c' exactly (x·P(0)/Q(0)), and o ⊙ c' (o ≤ 1) is
    // flushed to +0 by h's own flush, as o ⊙ tanh(+0) is.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UpdateState<TWidth, TVector>(TVector i, TVector f, TVector g, TVector o, ref float c, ref float h, nuint unit)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
    {
        var cSum = CellSum<TWidth, TVector>(i, f, g, TWidth.Load(ref c, unit));
        TWidth.Store(TWidth.FlushSubnormal(cSum), ref c, unit);
        TWidth.Store(NewHidden<TWidth, TVector>(o, TWidth.Tanh(cSum)), ref h, unit);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVector NewHidden<TWidth, TVector>(TVector o, TVector tanhC)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct => TWidth.FlushSubnormal(TWidth.Multiply(o, tanhC));
}
