using System.Runtime.CompilerServices;

namespace Embedded.Rnn.Kernels;

/// <summary>Element-wise activations over a run of floats in place, on any width: the loops the cells' operators share.</summary>
public static class Pointwise
{
    /// <summary>σ(x) for <paramref name="count"/> floats from <paramref name="values"/> (a multiple of the width's lanes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SigmoidInPlace<TWidth, TVector>(ref float values, nuint count)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
    {
        // One activation per loop: its constants and temporaries fit the registers, and iterations are independent.
        for (nuint i = 0; i < count; i += TWidth.Lanes)
        {
            TWidth.Store(TWidth.Sigmoid(TWidth.Load(ref values, i)), ref values, i);
        }
    }

    /// <summary>tanh(x) for <paramref name="count"/> floats from <paramref name="values"/> (a multiple of the width's lanes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TanhInPlace<TWidth, TVector>(ref float values, nuint count)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
    {
        for (nuint i = 0; i < count; i += TWidth.Lanes)
        {
            TWidth.Store(TWidth.Tanh(TWidth.Load(ref values, i)), ref values, i);
        }
    }
}
