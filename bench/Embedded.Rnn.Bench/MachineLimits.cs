using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using BenchmarkDotNet.Attributes;

namespace Embedded.Rnn.Bench;

/// <summary>
/// What this CPU can do at most, measured in the same run as the suites, for the compute and weight-streaming
/// bounds. Results are per vector instruction: PeakFma is ns per 256-bit FMA (8 lanes × 2 FLOPs) over 12
/// independent chains (latency 4 × 2 pipes needs 8; 12 + 2 operands fit the 16 ymm registers); the Read
/// benchmarks are ns per 32-byte load, summed into 8 independent chains, from a 64-byte-aligned buffer sized to
/// stay in L1 (16 KiB) or in L2 (256 KiB), and the same buffers read from an address 8 bytes past alignment, as
/// a .NET float[] is (array data is only 8-byte aligned), so that half the 32-byte loads straddle cache lines.
/// </summary>
[MemoryDiagnoser]
public unsafe class MachineLimits
{
    public const int FmaIterations = 1 << 14;
    public const int FmaChains = 12;
    public const int L1Bytes = 16 << 10;
    public const int L2Bytes = 256 << 10;
    public const int L1Passes = 256;
    public const int L2Passes = 16;
    private const int VectorBytes = 32;

    private float* _l1;
    private float* _l2;
    private float _multiplier = 0.999999f, _addend = 1e-6f;

    [GlobalSetup]
    public void Setup()
    {
        if (!Fma.IsSupported || !Avx.IsSupported)
        {
            throw new PlatformNotSupportedException("MachineLimits measures AVX2 + FMA.");
        }

        // One spare vector so that the misaligned variants stay inside the buffer.
        _l1 = Allocate(L1Bytes + 64);
        _l2 = Allocate(L2Bytes + 64);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_l1);
        NativeMemory.AlignedFree(_l2);
    }

    private static float* Allocate(int bytes)
    {
        var p = (float*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        for (int i = 0; i < bytes / sizeof(float); i++)
        {
            p[i] = 1e-3f * (i % 97);
        }

        return p;
    }

    [Benchmark(OperationsPerInvoke = FmaIterations * FmaChains)]
    public float PeakFma()
    {
        var m = Vector256.Create(_multiplier);
        var c = Vector256.Create(_addend);
        Vector256<float> a0 = c, a1 = c + c, a2 = a1 + c, a3 = a2 + c, a4 = a3 + c, a5 = a4 + c;
        Vector256<float> a6 = a5 + c, a7 = a6 + c, a8 = a7 + c, a9 = a8 + c, a10 = a9 + c, a11 = a10 + c;
        for (int i = 0; i < FmaIterations; i++)
        {
            a0 = Fma.MultiplyAdd(a0, m, c);
            a1 = Fma.MultiplyAdd(a1, m, c);
            a2 = Fma.MultiplyAdd(a2, m, c);
            a3 = Fma.MultiplyAdd(a3, m, c);
            a4 = Fma.MultiplyAdd(a4, m, c);
            a5 = Fma.MultiplyAdd(a5, m, c);
            a6 = Fma.MultiplyAdd(a6, m, c);
            a7 = Fma.MultiplyAdd(a7, m, c);
            a8 = Fma.MultiplyAdd(a8, m, c);
            a9 = Fma.MultiplyAdd(a9, m, c);
            a10 = Fma.MultiplyAdd(a10, m, c);
            a11 = Fma.MultiplyAdd(a11, m, c);
        }

        return Vector256.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
    }

    [Benchmark(OperationsPerInvoke = L1Passes * L1Bytes / VectorBytes)]
    public float L1Read() => Read(_l1, L1Bytes, L1Passes);

    [Benchmark(OperationsPerInvoke = L1Passes * L1Bytes / VectorBytes)]
    public float L1ReadMisaligned8() => Read((float*)((byte*)_l1 + 8), L1Bytes, L1Passes);

    [Benchmark(OperationsPerInvoke = L2Passes * L2Bytes / VectorBytes)]
    public float L2Read() => Read(_l2, L2Bytes, L2Passes);

    [Benchmark(OperationsPerInvoke = L2Passes * L2Bytes / VectorBytes)]
    public float L2ReadMisaligned8() => Read((float*)((byte*)_l2 + 8), L2Bytes, L2Passes);

    private static float Read(float* p, int bytes, int passes)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> a4 = default, a5 = default, a6 = default, a7 = default;
        int floats = bytes / sizeof(float);
        for (int pass = 0; pass < passes; pass++)
        {
            for (int i = 0; i < floats; i += 64)
            {
                a0 = Avx.Add(a0, Avx.LoadVector256(p + i));
                a1 = Avx.Add(a1, Avx.LoadVector256(p + i + 8));
                a2 = Avx.Add(a2, Avx.LoadVector256(p + i + 16));
                a3 = Avx.Add(a3, Avx.LoadVector256(p + i + 24));
                a4 = Avx.Add(a4, Avx.LoadVector256(p + i + 32));
                a5 = Avx.Add(a5, Avx.LoadVector256(p + i + 40));
                a6 = Avx.Add(a6, Avx.LoadVector256(p + i + 48));
                a7 = Avx.Add(a7, Avx.LoadVector256(p + i + 56));
            }
        }

        return Vector256.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)));
    }
}
