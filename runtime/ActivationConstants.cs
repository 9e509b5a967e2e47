using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Exp = Embedded.Rnn.ExpOperator;
using Rational = Embedded.Rnn.RationalTanh;

namespace Embedded.Rnn;

/// <summary>
/// <see cref="ExpOperator"/>'s and <see cref="RationalTanh"/>'s constants for the <c>Vector256</c> path, each repeated
/// across a 64-byte entry of a table. Read from memory, they become memory operands; as <c>Vector256.Create</c>
/// constants the JIT hoists them all into registers, and with AVX2's 16 <c>ymm</c> registers it then spills the polynomial's
/// temporaries to the stack on every activation's critical path (bench/RESULTS.md). Vector128 (Arm64: 32 registers)
/// and Vector512 (AVX-512: 32 registers) keep register constants.
/// </summary>
/// <remarks>
/// The table is data the compiler embeds in the assembly, so the class has no initialiser of any kind. A class
/// initialiser made NativeAOT check it inside every method that inlines an activation, and the check's slow-path call
/// spilled a step's accumulators around it; a module initialiser avoided that but aborted SharpFuzz-instrumented runs
/// (bench/RESULTS.md, "RTNeural side by side on an AVX2 machine"). Unoptimised code reads embedded data through a helper
/// that allocates on every call, so this assembly is compiled optimised in every configuration.
/// </remarks>
internal static unsafe class ActivationConstants
{
    // Floats in one entry, as Entries writes them: twice a Vector256's 8, so a load can start up to 7 floats in.
    internal const int EntryLength = 16;

    // Float offsets of each constant: its entry's index in Entries times EntryLength.
    private const nuint Stride = EntryLength;
    internal const nuint Min = 0 * Stride, Max = 1 * Stride, Log2E = 2 * Stride, RoundMagic = 3 * Stride, MinusLn2Hi = 4 * Stride, MinusLn2Lo = 5 * Stride;
    internal const nuint P0 = 6 * Stride, P1 = 7 * Stride, P2 = 8 * Stride, P3 = 9 * Stride, P4 = 10 * Stride, P5 = 11 * Stride;
    internal const nuint One = 12 * Stride, ExponentBias = 13 * Stride;

    // RationalTanh's two sets, tanh's and sigmoid's, at Tanh and Sigmoid; the offsets below are within a set.
    private const int SetLength = 13;
    internal const nuint Tanh = ExponentBias + Stride, Sigmoid = Tanh + SetLength * Stride;
    internal const nuint SquaredLimit = 0 * Stride;
    internal const nuint RationalP0 = 1 * Stride, RationalP1 = 2 * Stride, RationalP2 = 3 * Stride, RationalP3 = 4 * Stride, RationalP4 = 5 * Stride;
    internal const nuint RationalQ1 = 6 * Stride, RationalQ2 = 7 * Stride, RationalQ3 = 8 * Stride, RationalQ4 = 9 * Stride;
    internal const nuint Offset = 10 * Stride, Lower = 11 * Stride, Upper = 12 * Stride;

    // The float whose bits are RoundMagicBits - 127 (the float's step is 1 at 1.5·2^23): subtracting it from
    // x·log2e + RoundMagic as integers leaves n + 127, the biased exponent of 2^n.
    private const float RoundMagicMinusBias = Exp.RoundMagic - 127f;
    private const float SquaredTanhLimit = Rational.TanhLimit * Rational.TanhLimit;
    private const float SquaredSigmoidLimit = Rational.SigmoidLimit * Rational.SigmoidLimit;

    /// <summary>The first entry, 32-byte aligned so that no <c>Vector256</c> load splits a cache line.</summary>
    internal static ref float Table
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            // The compiler aligns embedded data to a float only. Each entry holds EntryLength copies and a load reads
            // 8, so starting up to 7 floats in keeps every load inside its entry. The data never moves, and both the JIT and
            // NativeAOT fold this to a constant address.
            ref float entries = ref MemoryMarshal.GetReference(Entries);
            nuint bytesToBoundary = (0 - (nuint)Unsafe.AsPointer(ref entries)) & 31; // a mask, not %: NativeAOT emits a div for %
            return ref Unsafe.AddByteOffset(ref entries, bytesToBoundary);
        }
    }

    // One entry per constant, in the order of the offsets above, as two rows of 8.
    internal static ReadOnlySpan<float> Entries =>
    [
        Exp.Min, Exp.Min, Exp.Min, Exp.Min, Exp.Min, Exp.Min, Exp.Min, Exp.Min,
        Exp.Min, Exp.Min, Exp.Min, Exp.Min, Exp.Min, Exp.Min, Exp.Min, Exp.Min,
        Exp.Max, Exp.Max, Exp.Max, Exp.Max, Exp.Max, Exp.Max, Exp.Max, Exp.Max,
        Exp.Max, Exp.Max, Exp.Max, Exp.Max, Exp.Max, Exp.Max, Exp.Max, Exp.Max,
        Exp.Log2E, Exp.Log2E, Exp.Log2E, Exp.Log2E, Exp.Log2E, Exp.Log2E, Exp.Log2E, Exp.Log2E,
        Exp.Log2E, Exp.Log2E, Exp.Log2E, Exp.Log2E, Exp.Log2E, Exp.Log2E, Exp.Log2E, Exp.Log2E,
        Exp.RoundMagic, Exp.RoundMagic, Exp.RoundMagic, Exp.RoundMagic, Exp.RoundMagic, Exp.RoundMagic, Exp.RoundMagic, Exp.RoundMagic,
        Exp.RoundMagic, Exp.RoundMagic, Exp.RoundMagic, Exp.RoundMagic, Exp.RoundMagic, Exp.RoundMagic, Exp.RoundMagic, Exp.RoundMagic,
        -Exp.Ln2Hi, -Exp.Ln2Hi, -Exp.Ln2Hi, -Exp.Ln2Hi, -Exp.Ln2Hi, -Exp.Ln2Hi, -Exp.Ln2Hi, -Exp.Ln2Hi,
        -Exp.Ln2Hi, -Exp.Ln2Hi, -Exp.Ln2Hi, -Exp.Ln2Hi, -Exp.Ln2Hi, -Exp.Ln2Hi, -Exp.Ln2Hi, -Exp.Ln2Hi,
        -Exp.Ln2Lo, -Exp.Ln2Lo, -Exp.Ln2Lo, -Exp.Ln2Lo, -Exp.Ln2Lo, -Exp.Ln2Lo, -Exp.Ln2Lo, -Exp.Ln2Lo,
        -Exp.Ln2Lo, -Exp.Ln2Lo, -Exp.Ln2Lo, -Exp.Ln2Lo, -Exp.Ln2Lo, -Exp.Ln2Lo, -Exp.Ln2Lo, -Exp.Ln2Lo,
        Exp.P0, Exp.P0, Exp.P0, Exp.P0, Exp.P0, Exp.P0, Exp.P0, Exp.P0,
        Exp.P0, Exp.P0, Exp.P0, Exp.P0, Exp.P0, Exp.P0, Exp.P0, Exp.P0,
        Exp.P1, Exp.P1, Exp.P1, Exp.P1, Exp.P1, Exp.P1, Exp.P1, Exp.P1,
        Exp.P1, Exp.P1, Exp.P1, Exp.P1, Exp.P1, Exp.P1, Exp.P1, Exp.P1,
        Exp.P2, Exp.P2, Exp.P2, Exp.P2, Exp.P2, Exp.P2, Exp.P2, Exp.P2,
        Exp.P2, Exp.P2, Exp.P2, Exp.P2, Exp.P2, Exp.P2, Exp.P2, Exp.P2,
        Exp.P3, Exp.P3, Exp.P3, Exp.P3, Exp.P3, Exp.P3, Exp.P3, Exp.P3,
        Exp.P3, Exp.P3, Exp.P3, Exp.P3, Exp.P3, Exp.P3, Exp.P3, Exp.P3,
        Exp.P4, Exp.P4, Exp.P4, Exp.P4, Exp.P4, Exp.P4, Exp.P4, Exp.P4,
        Exp.P4, Exp.P4, Exp.P4, Exp.P4, Exp.P4, Exp.P4, Exp.P4, Exp.P4,
        Exp.P5, Exp.P5, Exp.P5, Exp.P5, Exp.P5, Exp.P5, Exp.P5, Exp.P5,
        Exp.P5, Exp.P5, Exp.P5, Exp.P5, Exp.P5, Exp.P5, Exp.P5, Exp.P5,
        1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f,
        1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f,
        RoundMagicMinusBias, RoundMagicMinusBias, RoundMagicMinusBias, RoundMagicMinusBias, RoundMagicMinusBias, RoundMagicMinusBias, RoundMagicMinusBias, RoundMagicMinusBias,
        RoundMagicMinusBias, RoundMagicMinusBias, RoundMagicMinusBias, RoundMagicMinusBias, RoundMagicMinusBias, RoundMagicMinusBias, RoundMagicMinusBias, RoundMagicMinusBias,
        SquaredTanhLimit, SquaredTanhLimit, SquaredTanhLimit, SquaredTanhLimit, SquaredTanhLimit, SquaredTanhLimit, SquaredTanhLimit, SquaredTanhLimit,
        SquaredTanhLimit, SquaredTanhLimit, SquaredTanhLimit, SquaredTanhLimit, SquaredTanhLimit, SquaredTanhLimit, SquaredTanhLimit, SquaredTanhLimit,
        Rational.P0, Rational.P0, Rational.P0, Rational.P0, Rational.P0, Rational.P0, Rational.P0, Rational.P0,
        Rational.P0, Rational.P0, Rational.P0, Rational.P0, Rational.P0, Rational.P0, Rational.P0, Rational.P0,
        Rational.P1, Rational.P1, Rational.P1, Rational.P1, Rational.P1, Rational.P1, Rational.P1, Rational.P1,
        Rational.P1, Rational.P1, Rational.P1, Rational.P1, Rational.P1, Rational.P1, Rational.P1, Rational.P1,
        Rational.P2, Rational.P2, Rational.P2, Rational.P2, Rational.P2, Rational.P2, Rational.P2, Rational.P2,
        Rational.P2, Rational.P2, Rational.P2, Rational.P2, Rational.P2, Rational.P2, Rational.P2, Rational.P2,
        Rational.P3, Rational.P3, Rational.P3, Rational.P3, Rational.P3, Rational.P3, Rational.P3, Rational.P3,
        Rational.P3, Rational.P3, Rational.P3, Rational.P3, Rational.P3, Rational.P3, Rational.P3, Rational.P3,
        Rational.P4, Rational.P4, Rational.P4, Rational.P4, Rational.P4, Rational.P4, Rational.P4, Rational.P4,
        Rational.P4, Rational.P4, Rational.P4, Rational.P4, Rational.P4, Rational.P4, Rational.P4, Rational.P4,
        Rational.Q1, Rational.Q1, Rational.Q1, Rational.Q1, Rational.Q1, Rational.Q1, Rational.Q1, Rational.Q1,
        Rational.Q1, Rational.Q1, Rational.Q1, Rational.Q1, Rational.Q1, Rational.Q1, Rational.Q1, Rational.Q1,
        Rational.Q2, Rational.Q2, Rational.Q2, Rational.Q2, Rational.Q2, Rational.Q2, Rational.Q2, Rational.Q2,
        Rational.Q2, Rational.Q2, Rational.Q2, Rational.Q2, Rational.Q2, Rational.Q2, Rational.Q2, Rational.Q2,
        Rational.Q3, Rational.Q3, Rational.Q3, Rational.Q3, Rational.Q3, Rational.Q3, Rational.Q3, Rational.Q3,
        Rational.Q3, Rational.Q3, Rational.Q3, Rational.Q3, Rational.Q3, Rational.Q3, Rational.Q3, Rational.Q3,
        Rational.Q4, Rational.Q4, Rational.Q4, Rational.Q4, Rational.Q4, Rational.Q4, Rational.Q4, Rational.Q4,
        Rational.Q4, Rational.Q4, Rational.Q4, Rational.Q4, Rational.Q4, Rational.Q4, Rational.Q4, Rational.Q4,
        0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f,
        0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f,
        -1f, -1f, -1f, -1f, -1f, -1f, -1f, -1f,
        -1f, -1f, -1f, -1f, -1f, -1f, -1f, -1f,
        1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f,
        1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f,
        SquaredSigmoidLimit, SquaredSigmoidLimit, SquaredSigmoidLimit, SquaredSigmoidLimit, SquaredSigmoidLimit, SquaredSigmoidLimit, SquaredSigmoidLimit, SquaredSigmoidLimit,
        SquaredSigmoidLimit, SquaredSigmoidLimit, SquaredSigmoidLimit, SquaredSigmoidLimit, SquaredSigmoidLimit, SquaredSigmoidLimit, SquaredSigmoidLimit, SquaredSigmoidLimit,
        Rational.SigmoidP0, Rational.SigmoidP0, Rational.SigmoidP0, Rational.SigmoidP0, Rational.SigmoidP0, Rational.SigmoidP0, Rational.SigmoidP0, Rational.SigmoidP0,
        Rational.SigmoidP0, Rational.SigmoidP0, Rational.SigmoidP0, Rational.SigmoidP0, Rational.SigmoidP0, Rational.SigmoidP0, Rational.SigmoidP0, Rational.SigmoidP0,
        Rational.SigmoidP1, Rational.SigmoidP1, Rational.SigmoidP1, Rational.SigmoidP1, Rational.SigmoidP1, Rational.SigmoidP1, Rational.SigmoidP1, Rational.SigmoidP1,
        Rational.SigmoidP1, Rational.SigmoidP1, Rational.SigmoidP1, Rational.SigmoidP1, Rational.SigmoidP1, Rational.SigmoidP1, Rational.SigmoidP1, Rational.SigmoidP1,
        Rational.SigmoidP2, Rational.SigmoidP2, Rational.SigmoidP2, Rational.SigmoidP2, Rational.SigmoidP2, Rational.SigmoidP2, Rational.SigmoidP2, Rational.SigmoidP2,
        Rational.SigmoidP2, Rational.SigmoidP2, Rational.SigmoidP2, Rational.SigmoidP2, Rational.SigmoidP2, Rational.SigmoidP2, Rational.SigmoidP2, Rational.SigmoidP2,
        Rational.SigmoidP3, Rational.SigmoidP3, Rational.SigmoidP3, Rational.SigmoidP3, Rational.SigmoidP3, Rational.SigmoidP3, Rational.SigmoidP3, Rational.SigmoidP3,
        Rational.SigmoidP3, Rational.SigmoidP3, Rational.SigmoidP3, Rational.SigmoidP3, Rational.SigmoidP3, Rational.SigmoidP3, Rational.SigmoidP3, Rational.SigmoidP3,
        Rational.SigmoidP4, Rational.SigmoidP4, Rational.SigmoidP4, Rational.SigmoidP4, Rational.SigmoidP4, Rational.SigmoidP4, Rational.SigmoidP4, Rational.SigmoidP4,
        Rational.SigmoidP4, Rational.SigmoidP4, Rational.SigmoidP4, Rational.SigmoidP4, Rational.SigmoidP4, Rational.SigmoidP4, Rational.SigmoidP4, Rational.SigmoidP4,
        Rational.SigmoidQ1, Rational.SigmoidQ1, Rational.SigmoidQ1, Rational.SigmoidQ1, Rational.SigmoidQ1, Rational.SigmoidQ1, Rational.SigmoidQ1, Rational.SigmoidQ1,
        Rational.SigmoidQ1, Rational.SigmoidQ1, Rational.SigmoidQ1, Rational.SigmoidQ1, Rational.SigmoidQ1, Rational.SigmoidQ1, Rational.SigmoidQ1, Rational.SigmoidQ1,
        Rational.SigmoidQ2, Rational.SigmoidQ2, Rational.SigmoidQ2, Rational.SigmoidQ2, Rational.SigmoidQ2, Rational.SigmoidQ2, Rational.SigmoidQ2, Rational.SigmoidQ2,
        Rational.SigmoidQ2, Rational.SigmoidQ2, Rational.SigmoidQ2, Rational.SigmoidQ2, Rational.SigmoidQ2, Rational.SigmoidQ2, Rational.SigmoidQ2, Rational.SigmoidQ2,
        Rational.SigmoidQ3, Rational.SigmoidQ3, Rational.SigmoidQ3, Rational.SigmoidQ3, Rational.SigmoidQ3, Rational.SigmoidQ3, Rational.SigmoidQ3, Rational.SigmoidQ3,
        Rational.SigmoidQ3, Rational.SigmoidQ3, Rational.SigmoidQ3, Rational.SigmoidQ3, Rational.SigmoidQ3, Rational.SigmoidQ3, Rational.SigmoidQ3, Rational.SigmoidQ3,
        Rational.SigmoidQ4, Rational.SigmoidQ4, Rational.SigmoidQ4, Rational.SigmoidQ4, Rational.SigmoidQ4, Rational.SigmoidQ4, Rational.SigmoidQ4, Rational.SigmoidQ4,
        Rational.SigmoidQ4, Rational.SigmoidQ4, Rational.SigmoidQ4, Rational.SigmoidQ4, Rational.SigmoidQ4, Rational.SigmoidQ4, Rational.SigmoidQ4, Rational.SigmoidQ4,
        0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f,
        0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f,
        0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f,
        0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f,
        1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f,
        1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f,
    ];
}
