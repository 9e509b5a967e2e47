using System.Runtime.CompilerServices;

namespace Embedded.Rnn.Kernels;

/// <summary>The vanilla RNN's activation: a type, so the JIT specialises the cell for it (no branch at run time).</summary>
public interface IRecurrentActivation
{
    /// <summary>The activation of a pre-activation; <paramref name="slope"/> is leaky ReLU's negative slope (ignored by the others).</summary>
    static abstract TVector Apply<TWidth, TVector>(TVector x, float slope)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct;

    /// <summary>dL/d(pre-activation) from the activation's output <paramref name="h"/> and dL/dh.</summary>
    static abstract TVector Backward<TWidth, TVector>(TVector h, TVector dh, float slope)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct;
}

/// <summary>tanh, whose derivative 1 − h² needs only its output.</summary>
public readonly struct TanhActivation : IRecurrentActivation
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Apply<TWidth, TVector>(TVector x, float slope)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct => TWidth.Tanh(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Backward<TWidth, TVector>(TVector h, TVector dh, float slope)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct => TWidth.Multiply(dh, TWidth.Subtract(TWidth.One, TWidth.Multiply(h, h)));
}

/// <summary>max(0, x): its output is positive exactly where its input was.</summary>
public readonly struct ReluActivation : IRecurrentActivation
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Apply<TWidth, TVector>(TVector x, float slope)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct => TWidth.Relu(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Backward<TWidth, TVector>(TVector h, TVector dh, float slope)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct => TWidth.SelectPositive(h, dh, TWidth.Zero);
}

/// <summary>x for x &gt; 0, else slope · x (slope ≥ 0, so the output's sign is the input's).</summary>
public readonly struct LeakyReluActivation : IRecurrentActivation
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Apply<TWidth, TVector>(TVector x, float slope)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct => TWidth.LeakyRelu(x, slope);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Backward<TWidth, TVector>(TVector h, TVector dh, float slope)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct => TWidth.SelectPositive(h, dh, TWidth.Scale(dh, slope));
}

/// <summary>
/// The vanilla RNN cell's pointwise maths: h' = activation(W_ih x + b_ih + W_hh h + b_hh), with the activation a type
/// (<see cref="TanhActivation"/>, <see cref="ReluActivation"/>, <see cref="LeakyReluActivation"/>). The tape of one step
/// holds h'.
/// </summary>
public static class RnnPointwise
{
    /// <summary>Values the tape keeps per unit and step.</summary>
    public const int TapeValues = 1;

    /// <summary>Inference, after the tiles: h = activation(pre) for <paramref name="units"/> units.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Activate<TWidth, TVector, TActivation>(ref float pre, ref float h, nuint units, float slope)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
        where TActivation : struct, IRecurrentActivation
    {
        for (nuint unit = 0; unit < units; unit += TWidth.Lanes)
        {
            TWidth.Store(TActivation.Apply<TWidth, TVector>(TWidth.Load(ref pre, unit), slope), ref h, unit);
        }
    }

    /// <summary>Training's forward step for one vector of units: writes the new h and the tape.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Record<TWidth, TVector, TActivation>(TVector pre, ref float tape, ref float h, nuint unit, float slope)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
        where TActivation : struct, IRecurrentActivation
    {
        var hNew = TActivation.Apply<TWidth, TVector>(pre, slope);
        TWidth.Store(hNew, ref tape, unit);
        TWidth.Store(hNew, ref h, unit);
    }

    /// <summary>Backward for one vector of units: the gradient of the pre-activation from dL/dh_t and the tape.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Backward<TWidth, TVector, TActivation>(ref float tape, ref float dh, nuint unit, float slope)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
        where TActivation : struct, IRecurrentActivation =>
        TActivation.Backward<TWidth, TVector>(TWidth.Load(ref tape, unit), TWidth.Load(ref dh, unit), slope);
}
