using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace Embedded.Rnn.Kernels;

/// <summary>
/// An element-wise activation and its derivative as a type, so the JIT specialises the code that uses it (no branch at run
/// time): the gates' sigmoid and tanh, and the vanilla RNN's choice of tanh, ReLU or leaky ReLU.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IActivation
{
    /// <summary>The activation of a pre-activation; <paramref name="slope"/> is leaky ReLU's negative slope (ignored by the others).</summary>
    static abstract TVector Apply<TWidth, TVector>(TVector x, float slope)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct;

    /// <summary>dL/d(pre-activation) from the activation's output <paramref name="h"/> and dL/dh.</summary>
    static abstract TVector Backward<TWidth, TVector>(TVector h, TVector dh, float slope)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct;

    /// <summary>
    /// Whether the output can be a subnormal float, so that a state made of it needs flushing
    /// (<see cref="Pointwise.SmallestNormal"/>). A constant: the JIT drops the flush where it is false.
    /// </summary>
    static abstract bool MayOutputSubnormal { get; }
}

/// <summary>The logistic sigmoid, whose derivative y(1 − y) needs only its output.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct SigmoidActivation : IActivation
{
    /// <inheritdoc />
    public static bool MayOutputSubnormal => false; // max(0, 1/2 + r), r a float: 0, or at least 2^-25 (the spacing of floats just below 1/2)

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Apply<TWidth, TVector>(TVector x, float slope)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct => TWidth.Sigmoid(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Backward<TWidth, TVector>(TVector h, TVector dh, float slope)
        where TWidth : struct, IVectorWidth<TVector>
        where TVector : struct => TWidth.Multiply(TWidth.Multiply(dh, h), TWidth.Subtract(TWidth.One, h));
}

/// <summary>tanh, whose derivative 1 − h² needs only its output.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct TanhActivation : IActivation
{
    /// <inheritdoc />
    public static bool MayOutputSubnormal => true; // tanh(x) = x·(1 + O(x²)): a small x comes out as itself, down to the subnormals

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
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct ReluActivation : IActivation
{
    /// <inheritdoc />
    public static bool MayOutputSubnormal => true; // max(0, x) passes a subnormal x through

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
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct LeakyReluActivation : IActivation
{
    /// <inheritdoc />
    public static bool MayOutputSubnormal => true; // x or slope · x: a subnormal in, a subnormal out

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
