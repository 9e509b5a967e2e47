using System.Runtime.Intrinsics;

namespace Embedded.Rnn;

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
    public static int Lanes(KernelPath path) => KernelLayout.Lanes(path);

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

    /// <summary>The path a model runs: <paramref name="kernelPath"/>, or <see cref="Best"/> when null.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The requested value is not a <see cref="KernelPath"/>.</exception>
    public static KernelPath Resolve(KernelPath? kernelPath)
    {
        var path = kernelPath ?? Best;
        if (path is < KernelPath.Scalar or > KernelPath.Vector512)
        {
            throw new ArgumentOutOfRangeException(nameof(kernelPath), path, $"{nameof(kernelPath)} must be a {nameof(KernelPath)} (Scalar, Vector128, Vector256 or Vector512).");
        }

        return path;
    }
}
