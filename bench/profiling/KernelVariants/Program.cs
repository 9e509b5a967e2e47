using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Embedded.Rnn;
using Embedded.Rnn.Bench;

// Experiment: the generated LSTM tile's structure (K = 2 chunks × 4 gates = 8 accumulators, weights streamed in
// RecurrentPacking order) with variations of the pointwise part and of weight alignment.
unsafe
{
    string filter = args.Length > 0 ? args[0] : "";
    Run<LstmI1H8, LstmI1H8.State>("lstm_i1_h8", 1, 8, filter, (m, x, y) => { var s = default(LstmI1H8.State); return n => { for (long i = 0; i < n; i++) m.Step(x, ref s, y); }; });
    Run<LstmI8H32, LstmI8H32.State>("lstm_i8_h32", 8, 32, filter, (m, x, y) => { var s = default(LstmI8H32.State); return n => { for (long i = 0; i < n; i++) m.Step(x, ref s, y); }; });
    Run<LstmI16H64, LstmI16H64.State>("lstm_i16_h64", 16, 64, filter, (m, x, y) => { var s = default(LstmI16H64.State); return n => { for (long i = 0; i < n; i++) m.Step(x, ref s, y); }; });
    Run<LstmI32H128, LstmI32H128.State>("lstm_i32_h128", 32, 128, filter, (m, x, y) => { var s = default(LstmI32H128.State); return n => { for (long i = 0; i < n; i++) m.Step(x, ref s, y); }; });
}

static unsafe void Run<TModel, TState>(string name, int input, int hidden, string filter, Func<TModel, float[], float[], Action<long>> oursFactory)
{
    if (!name.Contains(filter)) return;
    var method = typeof(TModel).GetMethod("FromSafetensors", new[] { typeof(ReadOnlyMemory<byte>), typeof(KernelPath?) })!;
    var model = (TModel)method.Invoke(null, new object?[] { new ReadOnlyMemory<byte>(Assets.Safetensors(name)), null })!;
    var packed = ((float[][])typeof(TModel).GetField("_packed", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(model)!)[0];
    fixed (float* p = packed) Console.WriteLine($"{name}: packed weights {packed.Length * 4} B, address mod 64 = {(nuint)p % 64}");
    float[] x = Assets.Inputs(input, 1);
    var yOurs = new float[hidden];
    var kernel = new Kernel(input, hidden, packed);
    // agreement from zero state over 50 steps
    var oursAction = oursFactory(model, x, yOurs);
    foreach (var variant in Enum.GetValues<Variant>())
    {
        kernel.Reset(); var yK = new float[hidden];
        var oursCheck = oursFactory(model, x, yOurs);
        oursCheck(50);
        for (int i = 0; i < 50; i++) kernel.Step(x, yK, variant);
        float d = 0; for (int i = 0; i < hidden; i++) d = MathF.Max(d, MathF.Abs(yK[i] - yOurs[i]));
        if (d > 1e-5f && variant < Variant.MatVecOnly) Console.WriteLine($"  {variant}: MISMATCH {d}");
    }

    var yy = new float[hidden];
    var variants = Enum.GetValues<Variant>();
    var best = new double[variants.Length + 1];
    Array.Fill(best, double.MaxValue);
    for (int round = 0; round < 3; round++)
    {
        best[0] = Math.Min(best[0], Time(oursAction));
        for (int vi = 0; vi < variants.Length; vi++) { var variant = variants[vi]; best[vi + 1] = Math.Min(best[vi + 1], Time(n => { for (long i = 0; i < n; i++) kernel.Step(x, yy, variant); })); }
    }
    Console.WriteLine($"  generated Step        : {best[0]:F1} ns");
    for (int vi = 0; vi < variants.Length; vi++) Console.WriteLine($"  {variants[vi],-22}: {best[vi + 1]:F1} ns");
}

static double Time(Action<long> body)
{
    long n = 1000;
    body(n);
    var sw = Stopwatch.StartNew(); body(n); n = Math.Max(1000, (long)(n * 20e6 / Math.Max(1, sw.Elapsed.TotalNanoseconds)));
    for (int w = 0; w < 10; w++) body(n);
    var samples = new double[7];
    for (int r = 0; r < samples.Length; r++)
    {
        long t0 = Stopwatch.GetTimestamp(); body(n);
        samples[r] = (Stopwatch.GetTimestamp() - t0) * (1e9 / Stopwatch.Frequency) / n;
    }
    Array.Sort(samples);
    return samples[samples.Length / 2];
}

enum Variant { Copy, ScratchLoop, ScratchLoopFastExp, Aligned, AlignedScratchFastExp, MatVecOnly, PointwiseOnly, TwoPass, TwoPassFastExp, TwoPassAlignedFastExp }

sealed unsafe class Kernel
{
    private readonly int _in, _hid, _tiles, _tileLen;
    private readonly float[] _packed;
    private readonly float* _aligned;
    private readonly float[] _h, _c, _hNew;
    private readonly float[] _scratch = new float[4 * 128 + 64];

    public Kernel(int input, int hidden, float[] packed)
    {
        _in = input; _hid = hidden; _packed = packed;
        int chunks = hidden / 8;
        int perTile = Math.Min(2, chunks);
        _tiles = chunks / perTile;
        _tileLen = perTile * 8 * (4 + 4 * input + 4 * hidden);
        _aligned = (float*)NativeMemory.AlignedAlloc((nuint)packed.Length * 4, 64);
        packed.AsSpan().CopyTo(new Span<float>(_aligned, packed.Length));
        _h = new float[hidden + 16]; _c = new float[hidden + 16]; _hNew = new float[hidden + 16];
    }

    public void Reset() { Array.Clear(_h); Array.Clear(_c); }

    public void Step(float[] x, float[] y, Variant v)
    {
        ref float w = ref (v is Variant.Aligned or Variant.AlignedScratchFastExp) ? ref *_aligned : ref MemoryMarshal.GetArrayDataReference(_packed);
        ref float xr = ref MemoryMarshal.GetArrayDataReference(x);
        ref float h = ref MemoryMarshal.GetArrayDataReference(_h);
        ref float c = ref MemoryMarshal.GetArrayDataReference(_c);
        ref float hn = ref MemoryMarshal.GetArrayDataReference(_hNew);
        int k = _hid / 8 >= 2 ? 2 : 1;
        if (v >= Variant.TwoPass && k == 2)
        {
            if (v == Variant.TwoPassAlignedFastExp) w = ref *_aligned;
            ref float s = ref MemoryMarshal.GetArrayDataReference(_scratch);
            for (int t = 0; t < _tiles; t++)
            {
                MatVec2(ref Unsafe.Add(ref w, t * _tileLen), ref xr, ref h, _in, _hid, out var a0, out var a1, out var a2, out var a3, out var a4, out var a5, out var a6, out var a7);
                ref float st = ref Unsafe.Add(ref s, t * 64);
                a0.StoreUnsafe(ref st, 0); a1.StoreUnsafe(ref st, 8); a2.StoreUnsafe(ref st, 16); a3.StoreUnsafe(ref st, 24);
                a4.StoreUnsafe(ref st, 32); a5.StoreUnsafe(ref st, 40); a6.StoreUnsafe(ref st, 48); a7.StoreUnsafe(ref st, 56);
            }
            Pointwise(ref s, ref c, ref hn, 0, _hid / 8, v != Variant.TwoPass);
            _hNew.AsSpan(0, _hid).CopyTo(_h);
            _h.AsSpan(0, _hid).CopyTo(y);
            return;
        }
        for (int t = 0; t < _tiles; t++)
        {
            ref float wt = ref Unsafe.Add(ref w, t * _tileLen);
            nuint unit = (nuint)(t * k * 8);
            switch (v)
            {
                case Variant.Copy:
                case Variant.Aligned:
                    if (k == 2) TileInline(ref wt, ref xr, ref h, ref c, ref hn, unit, _in, _hid); else Tile1(ref wt, ref xr, ref h, ref c, ref hn, unit, _in, _hid, false);
                    break;
                case Variant.ScratchLoop:
                    if (k == 2) TileScratch(ref wt, ref xr, ref h, ref c, ref hn, unit, _in, _hid, false, _scratch); else Tile1(ref wt, ref xr, ref h, ref c, ref hn, unit, _in, _hid, false);
                    break;
                case Variant.MatVecOnly:
                    if (k == 2) { MatVec2(ref wt, ref xr, ref h, _in, _hid, out var a0, out var a1, out var a2, out var a3, out var a4, out var a5, out var a6, out var a7);
                        Vector256.StoreUnsafe(Vector256.Min((a0 + a1) + (a2 + a3), Vector256<float>.One), ref hn, unit); Vector256.StoreUnsafe(Vector256.Min((a4 + a5) + (a6 + a7), Vector256<float>.One), ref hn, unit + 8); }
                    break;
                case Variant.PointwiseOnly:
                    if (k == 2) TileInlineNoMatVec(ref wt, ref c, ref hn, unit);
                    break;
                default:
                    if (k == 2) TileScratch(ref wt, ref xr, ref h, ref c, ref hn, unit, _in, _hid, true, _scratch); else Tile1(ref wt, ref xr, ref h, ref c, ref hn, unit, _in, _hid, true);
                    break;
            }
        }
        _hNew.AsSpan(0, _hid).CopyTo(_h);
        _h.AsSpan(0, _hid).CopyTo(y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MatVec2(ref float w, ref float x, ref float h, int input, int hidden,
        out Vector256<float> a0, out Vector256<float> a1, out Vector256<float> a2, out Vector256<float> a3,
        out Vector256<float> a4, out Vector256<float> a5, out Vector256<float> a6, out Vector256<float> a7)
    {
        a0 = Vector256.LoadUnsafe(ref w, 0); a1 = Vector256.LoadUnsafe(ref w, 8); a2 = Vector256.LoadUnsafe(ref w, 16); a3 = Vector256.LoadUnsafe(ref w, 24);
        a4 = Vector256.LoadUnsafe(ref w, 32); a5 = Vector256.LoadUnsafe(ref w, 40); a6 = Vector256.LoadUnsafe(ref w, 48); a7 = Vector256.LoadUnsafe(ref w, 56);
        ref float wc = ref Unsafe.Add(ref w, 64);
        for (int j = 0; j < input + hidden; j++)
        {
            var b = Vector256.Create(j < input ? Unsafe.Add(ref x, j) : Unsafe.Add(ref h, j - input));
            a0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref wc, 0), b, a0);
            a1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref wc, 8), b, a1);
            a2 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref wc, 16), b, a2);
            a3 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref wc, 24), b, a3);
            a4 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref wc, 32), b, a4);
            a5 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref wc, 40), b, a5);
            a6 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref wc, 48), b, a6);
            a7 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref wc, 56), b, a7);
            wc = ref Unsafe.Add(ref wc, 64);
        }
    }

    // As generated: all eight activations inline after the mat-vec, accumulators live throughout.
    private static void TileInline(ref float w, ref float x, ref float h, ref float c, ref float hn, nuint unit, int input, int hidden)
    {
        MatVec2(ref w, ref x, ref h, input, hidden, out var a0, out var a1, out var a2, out var a3, out var a4, out var a5, out var a6, out var a7);
        {
            var i = SigmoidOperator.Invoke(a0); var f = SigmoidOperator.Invoke(a1); var g = TanhOperator.Invoke(a2); var o = SigmoidOperator.Invoke(a3);
            var cn = f * Vector256.LoadUnsafe(ref c, unit) + i * g; Vector256.StoreUnsafe(cn, ref c, unit);
            Vector256.StoreUnsafe(o * TanhOperator.Invoke(cn), ref hn, unit);
        }
        {
            var i = SigmoidOperator.Invoke(a4); var f = SigmoidOperator.Invoke(a5); var g = TanhOperator.Invoke(a6); var o = SigmoidOperator.Invoke(a7);
            var cn = f * Vector256.LoadUnsafe(ref c, unit + 8) + i * g; Vector256.StoreUnsafe(cn, ref c, unit + 8);
            Vector256.StoreUnsafe(o * TanhOperator.Invoke(cn), ref hn, unit + 8);
        }
    }

    private static void TileInlineNoMatVec(ref float w, ref float c, ref float hn, nuint unit)
    {
        var a0 = Vector256.LoadUnsafe(ref w, 0); var a1 = Vector256.LoadUnsafe(ref w, 8); var a2 = Vector256.LoadUnsafe(ref w, 16); var a3 = Vector256.LoadUnsafe(ref w, 24);
        var a4 = Vector256.LoadUnsafe(ref w, 32); var a5 = Vector256.LoadUnsafe(ref w, 40); var a6 = Vector256.LoadUnsafe(ref w, 48); var a7 = Vector256.LoadUnsafe(ref w, 56);
        var hv = Vector256.LoadUnsafe(ref hn, unit); a0 += hv; a4 += hv;
        {
            var i = SigmoidOperator.Invoke(a0); var f = SigmoidOperator.Invoke(a1); var g = TanhOperator.Invoke(a2); var o = SigmoidOperator.Invoke(a3);
            var cn = f * Vector256.LoadUnsafe(ref c, unit) + i * g; Vector256.StoreUnsafe(cn, ref c, unit);
            Vector256.StoreUnsafe(o * TanhOperator.Invoke(cn), ref hn, unit);
        }
        {
            var i = SigmoidOperator.Invoke(a4); var f = SigmoidOperator.Invoke(a5); var g = TanhOperator.Invoke(a6); var o = SigmoidOperator.Invoke(a7);
            var cn = f * Vector256.LoadUnsafe(ref c, unit + 8) + i * g; Vector256.StoreUnsafe(cn, ref c, unit + 8);
            Vector256.StoreUnsafe(o * TanhOperator.Invoke(cn), ref hn, unit + 8);
        }
    }

    // Accumulators to a scratch buffer, then one (not unrolled) loop over the chunks does the gate math.
    private static void TileScratch(ref float w, ref float x, ref float h, ref float c, ref float hn, nuint unit, int input, int hidden, bool fast, float[] scratch)
    {
        MatVec2(ref w, ref x, ref h, input, hidden, out var a0, out var a1, out var a2, out var a3, out var a4, out var a5, out var a6, out var a7);
        ref float s = ref MemoryMarshal.GetArrayDataReference(scratch);
        a0.StoreUnsafe(ref s, 0); a1.StoreUnsafe(ref s, 8); a2.StoreUnsafe(ref s, 16); a3.StoreUnsafe(ref s, 24);
        a4.StoreUnsafe(ref s, 32); a5.StoreUnsafe(ref s, 40); a6.StoreUnsafe(ref s, 48); a7.StoreUnsafe(ref s, 56);
        if (fast) Pointwise(ref s, ref c, ref hn, unit, 2, true); else Pointwise(ref s, ref c, ref hn, unit, 2, false);
    }

    private static void Tile1(ref float w, ref float x, ref float h, ref float c, ref float hn, nuint unit, int input, int hidden, bool fast)
    {
        var a0 = Vector256.LoadUnsafe(ref w, 0); var a1 = Vector256.LoadUnsafe(ref w, 8); var a2 = Vector256.LoadUnsafe(ref w, 16); var a3 = Vector256.LoadUnsafe(ref w, 24);
        ref float wc = ref Unsafe.Add(ref w, 32);
        for (int j = 0; j < input + hidden; j++)
        {
            var b = Vector256.Create(j < input ? Unsafe.Add(ref x, j) : Unsafe.Add(ref h, j - input));
            a0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref wc, 0), b, a0);
            a1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref wc, 8), b, a1);
            a2 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref wc, 16), b, a2);
            a3 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref wc, 24), b, a3);
            wc = ref Unsafe.Add(ref wc, 32);
        }
        Vector256<float> i, f, g, o;
        if (fast) { i = Fast.Sigmoid(a0); f = Fast.Sigmoid(a1); g = Fast.Tanh(a2); o = Fast.Sigmoid(a3); }
        else { i = SigmoidOperator.Invoke(a0); f = SigmoidOperator.Invoke(a1); g = TanhOperator.Invoke(a2); o = SigmoidOperator.Invoke(a3); }
        var cn = f * Vector256.LoadUnsafe(ref c, unit) + i * g; Vector256.StoreUnsafe(cn, ref c, unit);
        Vector256.StoreUnsafe(o * (fast ? Fast.Tanh(cn) : TanhOperator.Invoke(cn)), ref hn, unit);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Pointwise(ref float s, ref float c, ref float hn, nuint unit, int chunks, bool fast)
    {
        for (int k = 0; k < chunks; k++)
        {
            ref float sk = ref Unsafe.Add(ref s, k * 32);
            nuint u = unit + (nuint)(k * 8);
            Vector256<float> i, f, g, o;
            if (fast)
            {
                i = Fast.Sigmoid(Vector256.LoadUnsafe(ref sk, 0)); f = Fast.Sigmoid(Vector256.LoadUnsafe(ref sk, 8));
                g = Fast.Tanh(Vector256.LoadUnsafe(ref sk, 16)); o = Fast.Sigmoid(Vector256.LoadUnsafe(ref sk, 24));
            }
            else
            {
                i = SigmoidOperator.Invoke(Vector256.LoadUnsafe(ref sk, 0)); f = SigmoidOperator.Invoke(Vector256.LoadUnsafe(ref sk, 8));
                g = TanhOperator.Invoke(Vector256.LoadUnsafe(ref sk, 16)); o = SigmoidOperator.Invoke(Vector256.LoadUnsafe(ref sk, 24));
            }
            var cn = f * Vector256.LoadUnsafe(ref c, u) + i * g; Vector256.StoreUnsafe(cn, ref c, u);
            Vector256.StoreUnsafe(o * (fast ? Fast.Tanh(cn) : TanhOperator.Invoke(cn)), ref hn, u);
        }
    }
}

// Same Cephes polynomial and accuracy; 2^n from the rounding constant's own bits (no float->int conversion,
// which .NET 9+ makes saturating: vcmpeqps + vandps + vcmpgeps + vcvttps2dq + vpblendvb).
static class Fast
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(-87.3f)), Vector256.Create(88.3f));
        var nm = Vector256.MultiplyAddEstimate(x, Vector256.Create(1.44269504088896341f), Vector256.Create(12582912f));
        var n = nm - Vector256.Create(12582912f);
        var r = Vector256.MultiplyAddEstimate(n, Vector256.Create(-0.693359375f), x);
        r = Vector256.MultiplyAddEstimate(n, Vector256.Create(2.12194440e-4f), r);
        var p = Vector256.MultiplyAddEstimate(Vector256.Create(1.9875691500e-4f), r, Vector256.Create(1.3981999507e-3f));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(8.3334519073e-3f));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(4.1665795894e-2f));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(1.6666665459e-1f));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(5.0000001201e-1f));
        var y = Vector256.MultiplyAddEstimate(p, r * r, r) + Vector256<float>.One;
        var scale = Vector256.ShiftLeft(nm.AsInt32() + Vector256.Create(127), 23).AsSingle();
        return y * scale;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x) => Vector256<float>.One / (Vector256<float>.One + Exp(-x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x) => Vector256<float>.One - Vector256.Create(2f) / (Exp(x + x) + Vector256<float>.One);
}
