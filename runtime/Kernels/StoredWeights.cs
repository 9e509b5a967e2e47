using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Embedded.Rnn.Kernels;

// The tiles' load step for narrower weight storage: a vector of stored weights (at ref w + offset weights) as floats.

/// <summary>
/// 16-bit weights: bfloat16 bits as <see cref="ushort"/> (int8 weights are held as the bfloat16 of each integer, which is
/// exact), in column pairs (<see cref="KernelLayout.PairsColumns"/>): each
/// 32-bit lane holds the even column's weight in its low half and the odd column's in its high half. A float is a
/// bfloat16's bits followed by 16 zero bits, so the even column is the lanes shifted left by 16 and the odd column the
/// lanes with their low half cleared: one instruction per vector, on any width.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class BFloat16Weights
{
    private const uint HighHalf = 0xFFFF0000;

    /// <summary>The even column's 16 weights of the pair block at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LoadLowVector512(ref ushort w, nuint offset) => Vector512.ShiftLeft(Vector512.LoadUnsafe(ref Pairs(ref w, offset)), 16).AsSingle();

    /// <summary>The odd column's 16 weights of the pair block at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LoadHighVector512(ref ushort w, nuint offset) => (Vector512.LoadUnsafe(ref Pairs(ref w, offset)) & Vector512.Create(HighHalf)).AsSingle();

    /// <summary>The even column's 8 weights of the pair block at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LoadLowVector256(ref ushort w, nuint offset) => Vector256.ShiftLeft(Vector256.LoadUnsafe(ref Pairs(ref w, offset)), 16).AsSingle();

    /// <summary>The odd column's 8 weights of the pair block at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LoadHighVector256(ref ushort w, nuint offset) => (Vector256.LoadUnsafe(ref Pairs(ref w, offset)) & Vector256.Create(HighHalf)).AsSingle();

    /// <summary>The even column's 4 weights of the pair block at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> LoadLowVector128(ref ushort w, nuint offset) => Vector128.ShiftLeft(Vector128.LoadUnsafe(ref Pairs(ref w, offset)), 16).AsSingle();

    /// <summary>The odd column's 4 weights of the pair block at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> LoadHighVector128(ref ushort w, nuint offset) => (Vector128.LoadUnsafe(ref Pairs(ref w, offset)) & Vector128.Create(HighHalf)).AsSingle();

    /// <summary>The even column's weight of the pair at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LoadLowScalar(ref ushort w, nuint offset) => WeightQuantization.FromBFloat16(Unsafe.Add(ref w, offset));

    /// <summary>The odd column's weight of the pair at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LoadHighScalar(ref ushort w, nuint offset) => WeightQuantization.FromBFloat16(Unsafe.Add(ref w, offset + 1));

    private static ref uint Pairs(ref ushort w, nuint offset) => ref Unsafe.As<ushort, uint>(ref Unsafe.Add(ref w, offset));
}
