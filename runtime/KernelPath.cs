using System.Runtime.Intrinsics;

namespace Embedded.Rnn;

/// <summary>The instruction-set path a generated model runs on.</summary>
public enum KernelPath
{
    /// <summary>Portable scalar code; also the path of targets without SIMD.</summary>
    Scalar = 0,
    /// <summary>128-bit vectors: SSE on x64, AdvSimd (NEON) on Arm64.</summary>
    Vector128 = 1,
    /// <summary>256-bit vectors: AVX2 + FMA.</summary>
    Vector256 = 2,
    /// <summary>512-bit vectors: AVX-512.</summary>
    Vector512 = 3,
}

/// <summary>Facts about the kernel paths on the running machine.</summary>
public static class KernelPaths
{
    /// <summary>The widest path the hardware accelerates (widest first: 512, 256, 128, scalar).</summary>
    public static KernelPath Best =>
        Vector512.IsHardwareAccelerated ? KernelPath.Vector512 :
        Vector256.IsHardwareAccelerated ? KernelPath.Vector256 :
        Vector128.IsHardwareAccelerated ? KernelPath.Vector128 :
        KernelPath.Scalar;

    /// <summary>Number of float lanes one vector of <paramref name="path"/> holds (1 for scalar).</summary>
    public static int Lanes(KernelPath path) => path switch
    {
        KernelPath.Vector512 => 16,
        KernelPath.Vector256 => 8,
        KernelPath.Vector128 => 4,
        _ => 1,
    };

    /// <summary>
    /// True when <paramref name="path"/> runs on SIMD hardware here. A path that is not accelerated still
    /// computes correct results (the runtime emulates the vectors), only slowly: useful for verification.
    /// </summary>
    public static bool IsAccelerated(KernelPath path) => path switch
    {
        KernelPath.Vector512 => Vector512.IsHardwareAccelerated,
        KernelPath.Vector256 => Vector256.IsHardwareAccelerated,
        KernelPath.Vector128 => Vector128.IsHardwareAccelerated,
        _ => true,
    };
}
