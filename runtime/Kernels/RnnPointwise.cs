using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace Embedded.Rnn.Kernels;

/// <summary>
/// The vanilla RNN cell's pointwise maths: h' = activation(W_ih x + b_ih + W_hh h + b_hh), with the activation a type
/// (<see cref="TanhActivation"/>, <see cref="ReluActivation"/>, <see cref="LeakyReluActivation"/>). The tape of one step
/// holds h'.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class RnnPointwise
{
    /// <summary>Values the tape keeps per unit and step.</summary>
    public const int TapeValues = 1;

    /// <summary>Inference, after the tiles: h = activation(pre) for <paramref name="units"/> units.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Activate<TWidth, TVector, TActivation>(ref float pre, ref float h, nuint units, float slope)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
        where TActivation : struct, IActivation
    {
        for (nuint unit = 0; unit < units; unit += TWidth.Lanes)
        {
            TWidth.Store(NewHidden<TWidth, TVector, TActivation>(TWidth.Load(ref pre, unit), slope), ref h, unit);
        }
    }

    /// <summary>
    /// Inference for one vector of units at <paramref name="unit"/>, straight from a tile's accumulator: a layer of one
    /// tile calls it in place of storing pre-activations for <see cref="Activate{TWidth, TVector, TActivation}"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Step<TWidth, TVector, TActivation>(TVector pre, ref float h, nuint unit, float slope)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
        where TActivation : struct, IActivation =>
        TWidth.Store(NewHidden<TWidth, TVector, TActivation>(pre, slope), ref h, unit);

    /// <summary>Training's forward step for one vector of units: writes the new h and the tape.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Record<TWidth, TVector, TActivation>(TVector pre, ref float tape, ref float h, nuint unit, float slope)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
        where TActivation : struct, IActivation
    {
        var hNew = NewHidden<TWidth, TVector, TActivation>(pre, slope);
        TWidth.Store(hNew, ref tape, unit);
        TWidth.Store(hNew, ref h, unit);
    }

    /// <summary>Backward for one vector of units: the gradient of the pre-activation from dL/dh_t and the tape.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Backward<TWidth, TVector, TActivation>(ref float tape, ref float dh, nuint unit, float slope)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
        where TActivation : struct, IActivation =>
        TActivation.Backward<TWidth, TVector>(TWidth.Load(ref tape, unit), TWidth.Load(ref dh, unit), slope);

    // h' = activation(pre), flushed (see Pointwise.SmallestNormal) where the activation can output a subnormal: an RNN
    // whose recurrence shrinks h (or a ReLU one with a recurrence near 1) otherwise keeps h in subnormals, since tanh
    // passes small values through as they are. The one place inference and training compute it.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVector NewHidden<TWidth, TVector, TActivation>(TVector pre, float slope)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
        where TActivation : struct, IActivation
    {
        var h = TActivation.Apply<TWidth, TVector>(pre, slope);
        return TActivation.MayOutputSubnormal ? TWidth.FlushSubnormal(h) : h;
    }
}
