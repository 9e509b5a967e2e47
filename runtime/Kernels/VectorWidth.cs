using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Embedded.Rnn.Kernels;

/// <summary>
/// One instruction-set path as the cells' pointwise operators see it: how to load, store and combine its vectors of
/// floats. The operators are written once, generic over this (the static-abstract pattern of
/// <c>System.Numerics.Tensors.TensorPrimitives</c>); the JIT specialises them per width, so nothing is virtual at run
/// time. Arithmetic is plain multiply and add (no fused multiply-add), the same on every width, so the paths agree
/// with the scalar twin within the activations' bounds.
/// </summary>
/// <typeparam name="TVector">The vector type: <c>Vector512&lt;float&gt;</c>, <c>Vector256&lt;float&gt;</c>, <c>Vector128&lt;float&gt;</c> or <c>float</c>.</typeparam>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IVectorWidth<TVector>
    where TVector : struct
{
    /// <summary>Floats per vector.</summary>
    static abstract nuint Lanes { get; }

    /// <summary>A vector of ones.</summary>
    static abstract TVector One { get; }

    /// <summary>A vector of zeros.</summary>
    static abstract TVector Zero { get; }

    /// <summary>The vector at <paramref name="source"/> + <paramref name="offset"/> floats (no alignment needed).</summary>
    static abstract TVector Load(ref float source, nuint offset);

    /// <summary>Stores <paramref name="value"/> at <paramref name="destination"/> + <paramref name="offset"/> floats.</summary>
    static abstract void Store(TVector value, ref float destination, nuint offset);

    /// <summary>Lane-wise sum.</summary>
    static abstract TVector Add(TVector left, TVector right);

    /// <summary>Lane-wise difference.</summary>
    static abstract TVector Subtract(TVector left, TVector right);

    /// <summary>Lane-wise product.</summary>
    static abstract TVector Multiply(TVector left, TVector right);

    /// <summary>Every lane times <paramref name="factor"/>.</summary>
    static abstract TVector Scale(TVector value, float factor);

    /// <summary><paramref name="ifPositive"/> where <paramref name="x"/> &gt; 0, else <paramref name="otherwise"/>, lane by lane.</summary>
    static abstract TVector SelectPositive(TVector x, TVector ifPositive, TVector otherwise);

    /// <summary><see cref="SigmoidOperator"/> on each lane.</summary>
    static abstract TVector Sigmoid(TVector x);

    /// <summary><see cref="TanhOperator"/> on each lane.</summary>
    static abstract TVector Tanh(TVector x);

    /// <summary><see cref="ReluOperator"/> on each lane.</summary>
    static abstract TVector Relu(TVector x);

    /// <summary><see cref="LeakyReluOperator"/> on each lane.</summary>
    static abstract TVector LeakyRelu(TVector x, float slope);

    /// <summary>
    /// The sum of the lanes, as a tree: the halves added until one 128-bit vector is left, then its pairs. A handful of
    /// instructions where <c>Vector512.Sum</c> takes 27 (.NET 10's JIT sums each 128-bit quarter apart); the backward
    /// kernels end every column's input gradient with one per stream.
    /// </summary>
    static abstract float Sum(TVector x);

    /// <summary>
    /// Zero in the lanes whose magnitude is below float's smallest normal value (<see cref="Pointwise.SmallestNormal"/>),
    /// <paramref name="x"/> elsewhere; NaN and infinities pass unchanged.
    /// </summary>
    static abstract TVector FlushSubnormal(TVector x);
}

/// <summary>512-bit vectors (AVX-512).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct Vector512Width : IVectorWidth<Vector512<float>>
{
    /// <inheritdoc />
    public static nuint Lanes => 16;

    /// <inheritdoc />
    public static Vector512<float> One => Vector512<float>.One;

    /// <inheritdoc />
    public static Vector512<float> Zero => Vector512<float>.Zero;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(ref float source, nuint offset) => Vector512.LoadUnsafe(ref source, offset);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> value, ref float destination, nuint offset) => Vector512.StoreUnsafe(value, ref destination, offset);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Add(Vector512<float> left, Vector512<float> right) => left + right;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Subtract(Vector512<float> left, Vector512<float> right) => left - right;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Multiply(Vector512<float> left, Vector512<float> right) => left * right;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Scale(Vector512<float> value, float factor) => value * factor;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> SelectPositive(Vector512<float> x, Vector512<float> ifPositive, Vector512<float> otherwise) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), ifPositive, otherwise);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sigmoid(Vector512<float> x) => SigmoidOperator.Invoke(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x) => TanhOperator.Invoke(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Relu(Vector512<float> x) => ReluOperator.Invoke(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LeakyRelu(Vector512<float> x, float slope) => LeakyReluOperator.Invoke(x, slope);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> FlushSubnormal(Vector512<float> x) =>
        // A select, not AndNot: AVX-512 compares into a mask register, which a masked move applies directly, where AndNot
        // first turned the mask into a vector (vpmovm2d), one more step on the LSTM's c and h chain.
        Vector512.ConditionalSelect(Vector512.LessThan(Vector512.Abs(x), Vector512.Create(Pointwise.SmallestNormal)), Vector512<float>.Zero, x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector512<float> x) => Vector256Width.Sum(x.GetLower() + x.GetUpper());
}

/// <summary>256-bit vectors (AVX2 + FMA).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct Vector256Width : IVectorWidth<Vector256<float>>
{
    /// <inheritdoc />
    public static nuint Lanes => 8;

    /// <inheritdoc />
    public static Vector256<float> One => Vector256<float>.One;

    /// <inheritdoc />
    public static Vector256<float> Zero => Vector256<float>.Zero;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(ref float source, nuint offset) => Vector256.LoadUnsafe(ref source, offset);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> value, ref float destination, nuint offset) => Vector256.StoreUnsafe(value, ref destination, offset);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Add(Vector256<float> left, Vector256<float> right) => left + right;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Subtract(Vector256<float> left, Vector256<float> right) => left - right;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Multiply(Vector256<float> left, Vector256<float> right) => left * right;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Scale(Vector256<float> value, float factor) => value * factor;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> SelectPositive(Vector256<float> x, Vector256<float> ifPositive, Vector256<float> otherwise) =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), ifPositive, otherwise);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x) => SigmoidOperator.Invoke(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x) => TanhOperator.Invoke(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Relu(Vector256<float> x) => ReluOperator.Invoke(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LeakyRelu(Vector256<float> x, float slope) => LeakyReluOperator.Invoke(x, slope);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> FlushSubnormal(Vector256<float> x) =>
        Vector256.AndNot(x, Vector256.LessThan(Vector256.Abs(x), Vector256.Create(Pointwise.SmallestNormal)));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector256<float> x) => Vector128Width.Sum(x.GetLower() + x.GetUpper());
}

/// <summary>128-bit vectors (SSE on x64, AdvSimd on Arm64).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct Vector128Width : IVectorWidth<Vector128<float>>
{
    /// <inheritdoc />
    public static nuint Lanes => 4;

    /// <inheritdoc />
    public static Vector128<float> One => Vector128<float>.One;

    /// <inheritdoc />
    public static Vector128<float> Zero => Vector128<float>.Zero;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(ref float source, nuint offset) => Vector128.LoadUnsafe(ref source, offset);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<float> value, ref float destination, nuint offset) => Vector128.StoreUnsafe(value, ref destination, offset);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Add(Vector128<float> left, Vector128<float> right) => left + right;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Subtract(Vector128<float> left, Vector128<float> right) => left - right;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Multiply(Vector128<float> left, Vector128<float> right) => left * right;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Scale(Vector128<float> value, float factor) => value * factor;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> SelectPositive(Vector128<float> x, Vector128<float> ifPositive, Vector128<float> otherwise) =>
        Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<float>.Zero), ifPositive, otherwise);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sigmoid(Vector128<float> x) => SigmoidOperator.Invoke(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Tanh(Vector128<float> x) => TanhOperator.Invoke(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Relu(Vector128<float> x) => ReluOperator.Invoke(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> LeakyRelu(Vector128<float> x, float slope) => LeakyReluOperator.Invoke(x, slope);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> FlushSubnormal(Vector128<float> x) =>
        Vector128.AndNot(x, Vector128.LessThan(Vector128.Abs(x), Vector128.Create(Pointwise.SmallestNormal)));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector128<float> x)
    {
        var pairs = x + Vector128.Shuffle(x, Vector128.Create(2, 3, 0, 1));
        return (pairs + Vector128.Shuffle(pairs, Vector128.Create(1, 0, 3, 2))).ToScalar();
    }
}

/// <summary>One float at a time: the scalar twin of the vector paths, and the path of hardware without SIMD.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct ScalarWidth : IVectorWidth<float>
{
    /// <inheritdoc />
    public static nuint Lanes => 1;

    /// <inheritdoc />
    public static float One => 1f;

    /// <inheritdoc />
    public static float Zero => 0f;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(ref float source, nuint offset) => Unsafe.Add(ref source, offset);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float value, ref float destination, nuint offset) => Unsafe.Add(ref destination, offset) = value;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Add(float left, float right) => left + right;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Subtract(float left, float right) => left - right;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Multiply(float left, float right) => left * right;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Scale(float value, float factor) => value * factor;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SelectPositive(float x, float ifPositive, float otherwise) => x > 0f ? ifPositive : otherwise;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float x) => SigmoidOperator.Invoke(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Tanh(float x) => TanhOperator.Invoke(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Relu(float x) => ReluOperator.Invoke(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LeakyRelu(float x, float slope) => LeakyReluOperator.Invoke(x, slope);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float FlushSubnormal(float x) => MathF.Abs(x) < Pointwise.SmallestNormal ? 0f : x;

    /// <inheritdoc />
    public static float Sum(float x) => x;
}
