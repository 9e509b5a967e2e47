using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Embedded.Rnn.Kernels;

/// <summary>
/// The reset-before GRU's pointwise maths (ONNX <c>linear_before_reset=0</c>, Keras <c>reset_after=False</c>): gate rows
/// r, z, n as PyTorch's GRU, but the reset gate scales h before the candidate's recurrent product:
/// n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn), h' = (1 − z) ⊙ n + z ⊙ h. That product needs r of every unit first, so a
/// step is two passes over the weights: the first computes r, z and W_in x + b_in, this operator turns r into r ⊙ h, and
/// a second pass computes W_hn (r ⊙ h) + b_hn. The tape of one step holds r, z, n, r ⊙ h (the second pass's input) and,
/// during backward, dL/d(r ⊙ h), each at <c>k · stride</c>.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class GruResetBeforePointwise
{
    /// <summary>Values the tape keeps per unit and step.</summary>
    public const int TapeValues = 5;

    /// <summary>The tape block holding r ⊙ h: the second pass's input in training.</summary>
    public const int ResetHiddenBlock = 3;

    /// <summary>The tape block backward fills with dL/d(r ⊙ h): the second pass's input gradient.</summary>
    public const int ResetHiddenGradientBlock = 4;

    /// <summary>
    /// Inference, between the passes: <paramref name="pre"/>'s r block (the first) becomes r ⊙ h for
    /// <paramref name="units"/> units, the second pass's input.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ResetHidden<TWidth, TVector>(ref float pre, ref float h, nuint units)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
    {
        for (nuint unit = 0; unit < units; unit += TWidth.Lanes)
        {
            TWidth.Store(TWidth.Multiply(TWidth.Sigmoid(TWidth.Load(ref pre, unit)), TWidth.Load(ref h, unit)), ref pre, unit);
        }
    }

    /// <summary>
    /// Inference, after the second pass: <paramref name="pre"/> holds r ⊙ h, z's pre-activations, W_in x + b_in and
    /// W_hn (r ⊙ h) + b_hn (block k at k · <paramref name="stride"/>); h is updated in place.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Activate<TWidth, TVector>(ref float pre, ref float h, nuint units, nuint stride)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
    {
        for (nuint unit = 0; unit < units; unit += TWidth.Lanes)
        {
            var z = TWidth.Sigmoid(TWidth.Load(ref pre, unit + stride));
            var n = TWidth.Tanh(TWidth.Add(TWidth.Load(ref pre, unit + 2 * stride), TWidth.Load(ref pre, unit + 3 * stride)));
            TWidth.Store(GruPointwise.NewHidden<TWidth, TVector>(z, n, TWidth.Load(ref h, unit)), ref h, unit);
        }
    }

    /// <summary>
    /// Training's first pass, one vector of units at <paramref name="unit"/>: r and z, r ⊙ h (the second pass's input) and
    /// W_in x + b_in on the tape (n's block holds it until <see cref="RecordCandidate"/> replaces it by n).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RecordGates<TWidth, TVector>(TVector preR, TVector preZ, TVector inputN, ref float hPrevious, ref float tape, nuint unit, nuint stride)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
    {
        var r = TWidth.Sigmoid(preR);
        TWidth.Store(r, ref tape, unit);
        TWidth.Store(TWidth.Sigmoid(preZ), ref tape, unit + stride);
        TWidth.Store(inputN, ref tape, unit + 2 * stride);
        TWidth.Store(TWidth.Multiply(r, TWidth.Load(ref hPrevious, unit)), ref tape, unit + ResetHiddenBlock * stride);
    }

    /// <summary>Training's second pass, one vector of units: n from W_hn (r ⊙ h) + b_hn, onto the tape, and the new h.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RecordCandidate<TWidth, TVector>(TVector hiddenN, ref float hPrevious, ref float tape, ref float h, nuint unit, nuint stride)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
    {
        var n = TWidth.Tanh(TWidth.Add(TWidth.Load(ref tape, unit + 2 * stride), hiddenN));
        TWidth.Store(n, ref tape, unit + 2 * stride);
        TWidth.Store(GruPointwise.NewHidden<TWidth, TVector>(TWidth.Load(ref tape, unit + stride), n, TWidth.Load(ref hPrevious, unit)), ref h, unit);
    }

    /// <summary>Backward starts here: the second pass adds into dL/d(r ⊙ h) column by column, so it starts at zero.</summary>
    public static void ClearResetGradient(ref float tape, int stride) =>
        MemoryMarshal.CreateSpan(ref Unsafe.Add(ref tape, ResetHiddenGradientBlock * stride), stride).Clear();

    /// <summary>Backward through the second pass, one vector of units: the gradient of W_hn (r ⊙ h) + b_hn (and of W_in x + b_in), dL/dh' ⊙ (1 − z) ⊙ (1 − n²).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector BackwardCandidate<TWidth, TVector>(ref float tape, ref float dh, nuint unit, nuint stride)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
    {
        var one = TWidth.One;
        var z = TWidth.Load(ref tape, unit + stride);
        var n = TWidth.Load(ref tape, unit + 2 * stride);
        return TWidth.Multiply(TWidth.Multiply(TWidth.Load(ref dh, unit), TWidth.Subtract(one, z)), TWidth.Subtract(one, TWidth.Multiply(n, n)));
    }

    /// <summary>
    /// Backward through the first pass, one vector of units, after the second pass filled dL/d(r ⊙ h): the gradients of the
    /// r, z and W_in x + b_in accumulators; adds dL/dh' ⊙ z + dL/d(r ⊙ h) ⊙ r to dL/dh_{t-1} in <paramref name="dhPrevious"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void BackwardGates<TWidth, TVector>(ref float tape, ref float hPrevious, ref float dh, ref float dhPrevious, nuint unit, nuint stride,
        out TVector dR, out TVector dZ, out TVector dInputN)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct
    {
        var one = TWidth.One;
        var gradH = TWidth.Load(ref dh, unit);
        var previous = TWidth.Load(ref hPrevious, unit);
        var r = TWidth.Load(ref tape, unit);
        var z = TWidth.Load(ref tape, unit + stride);
        var n = TWidth.Load(ref tape, unit + 2 * stride);
        var gradResetHidden = TWidth.Load(ref tape, unit + ResetHiddenGradientBlock * stride);
        dInputN = BackwardCandidate<TWidth, TVector>(ref tape, ref dh, unit, stride);
        dZ = TWidth.Multiply(TWidth.Multiply(TWidth.Multiply(gradH, TWidth.Subtract(previous, n)), z), TWidth.Subtract(one, z));
        dR = TWidth.Multiply(TWidth.Multiply(TWidth.Multiply(gradResetHidden, previous), r), TWidth.Subtract(one, r));
        var direct = TWidth.Add(TWidth.Multiply(gradH, z), TWidth.Multiply(gradResetHidden, r));
        TWidth.Store(TWidth.Add(TWidth.Load(ref dhPrevious, unit), direct), ref dhPrevious, unit);
    }
}
