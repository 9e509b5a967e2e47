using System.Numerics.Tensors;

namespace Embedded.Rnn.Bench;

/// <summary>A competitor that owns one stream's state.</summary>
public abstract class Baseline(int input, int hidden)
{
    public int InputSize { get; } = input;

    public int HiddenSize { get; } = hidden;

    public abstract void Step(ReadOnlySpan<float> x, Span<float> y);

    /// <summary>T steps, time-major, each output the new h.</summary>
    public void Run(ReadOnlySpan<float> xs, Span<float> ys)
    {
        int input = InputSize, hidden = HiddenSize;
        int steps = xs.Length / input;
        for (int t = 0; t < steps; t++)
        {
            Step(xs.Slice(t * input, input), ys.Slice(t * hidden, hidden));
        }
    }

    public abstract void Reset();

    public static Baseline Scalar(Weights w) => w.Cell switch
    {
        "lstm" => new ScalarLstm(w),
        "gru" => new ScalarGru(w),
        _ => new ScalarRnn(w),
    };

    public static Baseline Tensor(Weights w) => w.Cell switch
    {
        "lstm" => new TensorLstm(w),
        "gru" => new TensorGru(w),
        _ => new TensorRnn(w),
    };
}

// ---------------------------------------------------------------------------------------------------------
// Straightforward hand-written scalar C#: PyTorch's row-major weights, float[] loops, MathF.

public sealed class ScalarLstm(Weights w) : Baseline(w.Input, w.Hidden)
{
    private readonly int _in = w.Input, _hid = w.Hidden;
    private readonly float[] _wih = w.WeightIh, _whh = w.WeightHh, _bih = w.BiasIh, _bhh = w.BiasHh;
    private readonly float[] _h = new float[w.Hidden], _c = new float[w.Hidden], _gates = new float[4 * w.Hidden];

    public override void Reset()
    {
        Array.Clear(_h);
        Array.Clear(_c);
    }

    public override void Step(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = _in, hid = _hid;
        for (int r = 0; r < 4 * hid; r++)
        {
            float sum = _bih[r] + _bhh[r];
            for (int j = 0; j < n; j++)
            {
                sum += _wih[r * n + j] * x[j];
            }

            for (int j = 0; j < hid; j++)
            {
                sum += _whh[r * hid + j] * _h[j];
            }

            _gates[r] = sum;
        }

        for (int k = 0; k < hid; k++)
        {
            float i = Sigmoid(_gates[k]);
            float f = Sigmoid(_gates[hid + k]);
            float g = MathF.Tanh(_gates[2 * hid + k]);
            float o = Sigmoid(_gates[3 * hid + k]);
            _c[k] = f * _c[k] + i * g;
            _h[k] = o * MathF.Tanh(_c[k]);
            y[k] = _h[k];
        }
    }

    internal static float Sigmoid(float v) => 1f / (1f + MathF.Exp(-v));
}

public sealed class ScalarGru(Weights w) : Baseline(w.Input, w.Hidden)
{
    private readonly int _in = w.Input, _hid = w.Hidden;
    private readonly float[] _wih = w.WeightIh, _whh = w.WeightHh, _bih = w.BiasIh, _bhh = w.BiasHh;
    private readonly float[] _h = new float[w.Hidden], _gi = new float[3 * w.Hidden], _gh = new float[3 * w.Hidden];

    public override void Reset() => Array.Clear(_h);

    public override void Step(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = _in, hid = _hid;
        for (int r = 0; r < 3 * hid; r++)
        {
            float si = _bih[r];
            for (int j = 0; j < n; j++)
            {
                si += _wih[r * n + j] * x[j];
            }

            float sh = _bhh[r];
            for (int j = 0; j < hid; j++)
            {
                sh += _whh[r * hid + j] * _h[j];
            }

            _gi[r] = si;
            _gh[r] = sh;
        }

        for (int k = 0; k < hid; k++)
        {
            float r = ScalarLstm.Sigmoid(_gi[k] + _gh[k]);
            float z = ScalarLstm.Sigmoid(_gi[hid + k] + _gh[hid + k]);
            float nn = MathF.Tanh(_gi[2 * hid + k] + r * _gh[2 * hid + k]);
            _h[k] = (1f - z) * nn + z * _h[k];
            y[k] = _h[k];
        }
    }
}

public sealed class ScalarRnn(Weights w) : Baseline(w.Input, w.Hidden)
{
    private readonly int _in = w.Input, _hid = w.Hidden;
    private readonly float[] _wih = w.WeightIh, _whh = w.WeightHh, _bih = w.BiasIh, _bhh = w.BiasHh;
    private readonly float[] _h = new float[w.Hidden], _pre = new float[w.Hidden];

    public override void Reset() => Array.Clear(_h);

    public override void Step(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = _in, hid = _hid;
        for (int r = 0; r < hid; r++)
        {
            float sum = _bih[r] + _bhh[r];
            for (int j = 0; j < n; j++)
            {
                sum += _wih[r * n + j] * x[j];
            }

            for (int j = 0; j < hid; j++)
            {
                sum += _whh[r * hid + j] * _h[j];
            }

            _pre[r] = sum;
        }

        for (int k = 0; k < hid; k++)
        {
            _h[k] = MathF.Tanh(_pre[k]);
            y[k] = _h[k];
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Careful generic C# on System.Numerics.Tensors.TensorPrimitives (vectorised, any size): weights transposed
// once to column-major [I + H][G·H], so the mat-vec is one fused multiply-add of a whole column per input
// element (long contiguous vectors even when the input is tiny), then the vectorised activations.

public abstract class TensorBaseline(Weights w) : Baseline(w.Input, w.Hidden)
{
    protected static float[] Transpose(float[] rowMajor, int rows, int columns)
    {
        var t = new float[rows * columns];
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < columns; j++)
            {
                t[j * rows + r] = rowMajor[r * columns + j];
            }
        }

        return t;
    }

    /// <summary>acc += Wt · v, Wt column-major [v.Length][acc.Length].</summary>
    protected static void Accumulate(ReadOnlySpan<float> wt, ReadOnlySpan<float> v, Span<float> acc)
    {
        int rows = acc.Length;
        for (int j = 0; j < v.Length; j++)
        {
            TensorPrimitives.MultiplyAdd(wt.Slice(j * rows, rows), v[j], acc, acc);
        }
    }
}

public sealed class TensorLstm : TensorBaseline
{
    private readonly int _hid;
    private readonly float[] _wih, _whh, _bias, _h, _c, _gates, _tmp;

    public TensorLstm(Weights w)
        : base(w)
    {
        _hid = w.Hidden;
        _wih = Transpose(w.WeightIh, 4 * w.Hidden, w.Input);
        _whh = Transpose(w.WeightHh, 4 * w.Hidden, w.Hidden);
        _bias = new float[4 * w.Hidden];
        TensorPrimitives.Add(w.BiasIh, w.BiasHh, _bias);
        _h = new float[w.Hidden];
        _c = new float[w.Hidden];
        _gates = new float[4 * w.Hidden];
        _tmp = new float[w.Hidden];
    }

    public override void Reset()
    {
        Array.Clear(_h);
        Array.Clear(_c);
    }

    public override void Step(ReadOnlySpan<float> x, Span<float> y)
    {
        int hid = _hid;
        Span<float> gates = _gates;
        _bias.CopyTo(gates);
        Accumulate(_wih, x, gates);
        Accumulate(_whh, _h, gates);
        var ifo = gates.Slice(0, 2 * hid);
        TensorPrimitives.Sigmoid(ifo, ifo);
        var g = gates.Slice(2 * hid, hid);
        TensorPrimitives.Tanh(g, g);
        var o = gates.Slice(3 * hid, hid);
        TensorPrimitives.Sigmoid(o, o);
        TensorPrimitives.Multiply(gates.Slice(hid, hid), _c, _c);            // c = f ⊙ c
        TensorPrimitives.MultiplyAdd(gates.Slice(0, hid), g, _c, _c);         // c += i ⊙ g
        TensorPrimitives.Tanh(_c, _tmp);
        TensorPrimitives.Multiply(o, _tmp, _h);                               // h = o ⊙ tanh(c)
        _h.CopyTo(y);
    }
}

public sealed class TensorGru : TensorBaseline
{
    private readonly int _hid;
    private readonly float[] _wih, _whh, _bih, _bhh, _h, _gi, _gh;

    public TensorGru(Weights w)
        : base(w)
    {
        _hid = w.Hidden;
        _wih = Transpose(w.WeightIh, 3 * w.Hidden, w.Input);
        _whh = Transpose(w.WeightHh, 3 * w.Hidden, w.Hidden);
        _bih = w.BiasIh;
        _bhh = w.BiasHh;
        _h = new float[w.Hidden];
        _gi = new float[3 * w.Hidden];
        _gh = new float[3 * w.Hidden];
    }

    public override void Reset() => Array.Clear(_h);

    public override void Step(ReadOnlySpan<float> x, Span<float> y)
    {
        int hid = _hid;
        Span<float> gi = _gi, gh = _gh;
        _bih.CopyTo(gi);
        _bhh.CopyTo(gh);
        Accumulate(_wih, x, gi);
        Accumulate(_whh, _h, gh);
        var rz = gi.Slice(0, 2 * hid);
        TensorPrimitives.Add(rz, gh.Slice(0, 2 * hid), rz);
        TensorPrimitives.Sigmoid(rz, rz);
        var r = gi.Slice(0, hid);
        var z = gi.Slice(hid, hid);
        var n = gi.Slice(2 * hid, hid);
        TensorPrimitives.MultiplyAdd(r, gh.Slice(2 * hid, hid), n, n);        // n = W_in x + b_in + r ⊙ (W_hn h + b_hn)
        TensorPrimitives.Tanh(n, n);
        TensorPrimitives.Subtract(_h, n, _h);                                 // h = n + z ⊙ (h − n)
        TensorPrimitives.MultiplyAdd(z, _h, n, _h);
        _h.CopyTo(y);
    }
}

public sealed class TensorRnn : TensorBaseline
{
    private readonly float[] _wih, _whh, _bias, _h, _pre;

    public TensorRnn(Weights w)
        : base(w)
    {
        _wih = Transpose(w.WeightIh, w.Hidden, w.Input);
        _whh = Transpose(w.WeightHh, w.Hidden, w.Hidden);
        _bias = new float[w.Hidden];
        TensorPrimitives.Add(w.BiasIh, w.BiasHh, _bias);
        _h = new float[w.Hidden];
        _pre = new float[w.Hidden];
    }

    public override void Reset() => Array.Clear(_h);

    public override void Step(ReadOnlySpan<float> x, Span<float> y)
    {
        Span<float> pre = _pre;
        _bias.CopyTo(pre);
        Accumulate(_wih, x, pre);
        Accumulate(_whh, _h, pre);
        TensorPrimitives.Tanh(pre, _h);
        _h.CopyTo(y);
    }
}
