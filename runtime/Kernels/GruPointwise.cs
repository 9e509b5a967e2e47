using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace Embedded.Rnn.Kernels;

/// <summary>
/// The GRU cell's pointwise maths (PyTorch's equations, gate rows r, z, n, the reset applied after the recurrent product):
/// r = σ(·), z = σ(·), n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h. The tiles keep
/// W_in x + b_in and W_hn h + b_hn in separate accumulators because r multiplies only the second. The tape of one step
/// holds r, z, n and W_hn h + b_hn, each at <c>k · stride</c>.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class GruPointwise
{
    /// <summary>Values the tape keeps per unit and step.</summary>
    public const int TapeValues = 4;

    /// <summary>
    /// Inference, after the tiles: <paramref name="pre"/> holds r's and z's pre-activations, W_in x + b_in and
    /// W_hn h + b_hn (block k at k · <paramref name="stride"/>); h is updated in place. One pass, each vector of units
    /// through <see cref="Step{TWidth, TVector}"/>: r and z are not stored and read back on the step's dependent chain, as
    /// they were with one pass per gate (GRU (8, 32) 5 % faster on Vector512; bench/RESULTS.md).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Activate<TWidth, TVector>(ref float pre, ref float h, nuint units, nuint stride)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
    {
        for (nuint unit = 0; unit < units; unit += TWidth.Lanes)
        {
            Step<TWidth, TVector>(TWidth.Load(ref pre, unit), TWidth.Load(ref pre, unit + stride), TWidth.Load(ref pre, unit + 2 * stride), TWidth.Load(ref pre, unit + 3 * stride), ref h, unit);
        }
    }

    /// <summary>
    /// Inference for one vector of units at <paramref name="unit"/>, straight from a tile's accumulators (r, z, W_in x + b_in,
    /// W_hn h + b_hn): a layer of one tile calls it in place of storing pre-activations for
    /// <see cref="Activate{TWidth, TVector}"/>, which keeps two store-to-load round trips off a small step's dependent
    /// chain. h is updated in place.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Step<TWidth, TVector>(TVector preR, TVector preZ, TVector inputN, TVector hiddenN, ref float h, nuint unit)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
    {
        var n = Candidate<TWidth, TVector>(TWidth.Sigmoid(preR), inputN, hiddenN);
        TWidth.Store(NewHidden<TWidth, TVector>(TWidth.Sigmoid(preZ), n, TWidth.Load(ref h, unit)), ref h, unit);
    }

    /// <summary>
    /// Training's forward step for one vector of units at <paramref name="unit"/>: writes the new h and the tape (see the
    /// class) that <see cref="Backward"/> reads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Record<TWidth, TVector>(TVector preR, TVector preZ, TVector inputN, TVector hiddenN, ref float hPrevious,
        ref float tape, ref float h, nuint unit, nuint stride)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
    {
        var r = TWidth.Sigmoid(preR);
        var z = TWidth.Sigmoid(preZ);
        var n = Candidate<TWidth, TVector>(r, inputN, hiddenN);
        TWidth.Store(r, ref tape, unit);
        TWidth.Store(z, ref tape, unit + stride);
        TWidth.Store(n, ref tape, unit + 2 * stride);
        TWidth.Store(hiddenN, ref tape, unit + 3 * stride);
        TWidth.Store(NewHidden<TWidth, TVector>(z, n, TWidth.Load(ref hPrevious, unit)), ref h, unit);
    }

    /// <summary>
    /// Backward for one vector of units: from dL/dh_t (<paramref name="dh"/>) and the tape, the gradients of the four
    /// accumulators (r, z, W_in x + b_in, W_hn h + b_hn); adds the direct z ⊙ dh term to dL/dh_{t-1} in
    /// <paramref name="dhPrevious"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Backward<TWidth, TVector>(ref float tape, ref float hPrevious, ref float dh, ref float dhPrevious, nuint unit, nuint stride,
        out TVector dR, out TVector dZ, out TVector dInputN, out TVector dHiddenN)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
    {
        var one = TWidth.One;
        var gradH = TWidth.Load(ref dh, unit);
        var r = TWidth.Load(ref tape, unit);
        var z = TWidth.Load(ref tape, unit + stride);
        var n = TWidth.Load(ref tape, unit + 2 * stride);
        var gradN = TWidth.Multiply(TWidth.Multiply(gradH, TWidth.Subtract(one, z)), TWidth.Subtract(one, TWidth.Multiply(n, n)));
        dR = TWidth.Multiply(TWidth.Multiply(TWidth.Multiply(gradN, TWidth.Load(ref tape, unit + 3 * stride)), r), TWidth.Subtract(one, r));
        dZ = TWidth.Multiply(TWidth.Multiply(TWidth.Multiply(gradH, TWidth.Subtract(TWidth.Load(ref hPrevious, unit), n)), z), TWidth.Subtract(one, z));
        dInputN = gradN;
        dHiddenN = TWidth.Multiply(gradN, r);
        TWidth.Store(TWidth.Add(TWidth.Load(ref dhPrevious, unit), TWidth.Multiply(gradH, z)), ref dhPrevious, unit);
    }

    // n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)) and h' = (1 − z) ⊙ n + z ⊙ h: the one place inference and training
    // compute them (h' for both GRU variants).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVector Candidate<TWidth, TVector>(TVector r, TVector inputN, TVector hiddenN)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct => TWidth.Tanh(TWidth.Add(inputN, TWidth.Multiply(r, hiddenN)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TVector NewHidden<TWidth, TVector>(TVector z, TVector n, TVector h)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct => TWidth.FlushSubnormal(TWidth.Add(TWidth.Multiply(TWidth.Subtract(TWidth.One, z), n), TWidth.Multiply(z, h)));
}
