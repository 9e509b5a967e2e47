using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Embedded.Rnn.Kernels;

// The tiles' load step for narrower weight storage: a vector of stored weights (at ref w + offset weights) as floats.
// Each width has the instruction that widens in one step where the path's hardware has it, and a portable form that
// computes the same. A load may read up to 16 bytes from its weight's position; packed blocks keep that much slack after
// their last weight (KernelLayout.LoadSlack).

/// <summary>bfloat16 weights (their bits as <see cref="ushort"/>): a float's upper half, so widening is a 16-bit shift.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class BFloat16Weights
{
    /// <summary>16 weights as floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LoadVector512(ref ushort w, nuint offset)
    {
        var bits = Vector256.LoadUnsafe(ref w, offset);
        var wide = Avx512F.IsSupported
            ? Avx512F.ConvertToVector512UInt32(bits)
            : Vector512.Create(Vector256.WidenLower(bits), Vector256.WidenUpper(bits));
        return Vector512.ShiftLeft(wide, 16).AsSingle();
    }

    /// <summary>8 weights as floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LoadVector256(ref ushort w, nuint offset)
    {
        var bits = Vector128.LoadUnsafe(ref w, offset);
        var wide = Avx2.IsSupported
            ? Avx2.ConvertToVector256Int32(bits).AsUInt32()
            : Vector256.Create(Vector128.WidenLower(bits), Vector128.WidenUpper(bits));
        return Vector256.ShiftLeft(wide, 16).AsSingle();
    }

    /// <summary>4 weights as floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> LoadVector128(ref ushort w, nuint offset)
    {
        if (AdvSimd.Arm64.IsSupported)
        {
            // zip1 with zeros puts each weight in the upper half of a 32-bit lane: the float it stands for.
            return AdvSimd.Arm64.ZipLow(Vector128<ushort>.Zero, Vector64.LoadUnsafe(ref w, offset).ToVector128Unsafe()).AsSingle();
        }

        // Reads 8 weights (the slack covers the 4 past the last), widens the first 4.
        var bits = Vector128.LoadUnsafe(ref w, offset);
        // punpcklwd with zeros: the same as zip1.
        return Sse2.IsSupported
            ? Sse2.UnpackLow(Vector128<ushort>.Zero, bits).AsSingle()
            : Vector128.ShiftLeft(Vector128.WidenLower(bits), 16).AsSingle();
    }

    /// <summary>One weight as a float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LoadScalar(ref ushort w, nuint offset) => WeightQuantization.FromBFloat16(Unsafe.Add(ref w, offset));
}

/// <summary>int8 weights: widened and converted to float here, scaled per row once per tile (<see cref="TileLayout"/>).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class Int8Weights
{
    /// <summary>16 weights as floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LoadVector512(ref sbyte w, nuint offset)
    {
        var bytes = Vector128.LoadUnsafe(ref w, offset);
        if (Avx512F.IsSupported)
        {
            return Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(bytes));
        }

        var shorts = Vector256.Create(Vector128.WidenLower(bytes), Vector128.WidenUpper(bytes));
        return Vector512.ConvertToSingle(Vector512.Create(Vector256.WidenLower(shorts), Vector256.WidenUpper(shorts)));
    }

    /// <summary>8 weights as floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LoadVector256(ref sbyte w, nuint offset)
    {
        // Reads 16 bytes (the slack covers the 8 past the last), widens the first 8.
        var bytes = Vector128.LoadUnsafe(ref w, offset);
        var ints = Avx2.IsSupported
            ? Avx2.ConvertToVector256Int32(bytes)
            : Vector256.Create(Vector128.WidenLower(Vector128.WidenLower(bytes)), Vector128.WidenUpper(Vector128.WidenLower(bytes)));
        return Vector256.ConvertToSingle(ints);
    }

    /// <summary>4 weights as floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> LoadVector128(ref sbyte w, nuint offset)
    {
        if (AdvSimd.IsSupported)
        {
            var shorts = AdvSimd.SignExtendWideningLower(Vector64.LoadUnsafe(ref w, offset));
            return Vector128.ConvertToSingle(AdvSimd.SignExtendWideningLower(shorts.GetLower()));
        }

        // Reads 16 bytes (the slack covers the 12 past the last), widens the first 4.
        var bytes = Vector128.LoadUnsafe(ref w, offset);
        var ints = Sse41.IsSupported ? Sse41.ConvertToVector128Int32(bytes) : Vector128.WidenLower(Vector128.WidenLower(bytes));
        return Vector128.ConvertToSingle(ints);
    }

    /// <summary>One weight as a float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LoadScalar(ref sbyte w, nuint offset) => Unsafe.Add(ref w, offset);
}
