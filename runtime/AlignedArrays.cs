using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Embedded.Rnn;

/// <summary>
/// Float arrays whose data start on a 64-byte (cache-line) boundary, so the kernels' vector loads never
/// straddle two lines: on Zen 3 a misaligned stream halves L1 read bandwidth (bench/RESULTS.md).
/// </summary>
public static class AlignedArrays
{
    /// <summary>The alignment in bytes.</summary>
    public const int Alignment = 64;

    /// <summary>
    /// A pinned array (it never moves) with room for <paramref name="length"/> floats from
    /// <paramref name="offset"/> on, where the data are 64-byte aligned.
    /// </summary>
    public static unsafe float[] Allocate(int length, out int offset)
    {
        const int slack = Alignment / sizeof(float) - 1;
        var array = GC.AllocateArray<float>(length + slack, pinned: true);
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        offset = (int)((Alignment - (address & (Alignment - 1))) & (Alignment - 1)) / sizeof(float);
        return array;
    }
}
