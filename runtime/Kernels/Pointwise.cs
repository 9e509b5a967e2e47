using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace Embedded.Rnn.Kernels;

/// <summary>Element-wise activation of a run of floats on any width: the loop the cells' operators share.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class Pointwise
{
    /// <summary>
    /// float's smallest normal value, 2^-126. The cells flush new state values below it to zero: a state that decays
    /// towards zero would otherwise settle in subnormal floats, which many CPUs process far slower (on AMD Zen 5 an LSTM
    /// step took up to 2.1 times as long; bench/RESULTS.md). The values lost are below 1.2e-38, far under any output's
    /// resolution; NaN and infinities pass unchanged, so a poisoned state stays detectable.
    /// </summary>
    public const float SmallestNormal = 1.17549435e-38f;

    /// <summary>
    /// destination = activation(source) for <paramref name="count"/> floats (a multiple of the width's lanes); source and
    /// destination may be the same. <paramref name="slope"/> is leaky ReLU's (ignored by the other activations).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply<TWidth, TVector, TActivation>(ref float source, ref float destination, nuint count, float slope = 0f)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
        where TActivation : struct, IActivation
    {
        // One activation per loop: its constants and temporaries fit the registers, and iterations are independent.
        for (nuint i = 0; i < count; i += TWidth.Lanes)
        {
            TWidth.Store(TActivation.Apply<TWidth, TVector>(TWidth.Load(ref source, i), slope), ref destination, i);
        }
    }
}
