using Microsoft.ML.OnnxRuntime;

namespace Embedded.Rnn.Bench;

/// <summary>
/// ONNX Runtime through its C# API on the same weights (bench/assets/*.onnx): one intra-op thread, sequential
/// execution, all optimisations; every input and output is bound once (OrtIoBinding over pinned arrays), and
/// the state is fed back by ping-ponging between two bindings (A reads h/c that B writes, and vice versa), so
/// a step copies nothing.
/// </summary>
public sealed class OnnxCompetitor : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _run = new();
    private readonly bool _lstm;
    private readonly int _input, _hidden;
    private readonly List<IDisposable> _owned = new();
    private readonly float[][] _h = { Array.Empty<float>(), Array.Empty<float>() };
    private readonly float[][] _c = { Array.Empty<float>(), Array.Empty<float>() };
    private readonly OrtIoBinding[] _step = new OrtIoBinding[2];
    private readonly OrtIoBinding[] _sequence = new OrtIoBinding[2];
    private int _phase;

    public OnnxCompetitor(string cell, int input, int hidden, int sequenceLength)
    {
        _lstm = cell == "lstm";
        _input = input;
        _hidden = hidden;
        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(Assets.Onnx(Assets.Name(cell, input, hidden)), options);
        for (int i = 0; i < 2; i++)
        {
            _h[i] = new float[hidden];
            _c[i] = new float[hidden];
        }

        StepX = new float[input];
        StepY = new float[hidden];
        SequenceX = new float[sequenceLength * input];
        SequenceY = new float[sequenceLength * hidden];
        long[] state = { 1, 1, hidden };
        for (int phase = 0; phase < 2; phase++)
        {
            int from = phase, to = 1 - phase;
            _step[phase] = Bind(StepX, new long[] { 1, 1, input }, null, null, state, from, to);
            _sequence[phase] = Bind(SequenceX, new long[] { sequenceLength, 1, input }, SequenceY, new long[] { sequenceLength, 1, 1, hidden }, state, from, to);
        }
    }

    /// <summary>Write the step input here before <see cref="Step"/>.</summary>
    public float[] StepX { get; }

    /// <summary>The step output (a copy of the new h).</summary>
    public float[] StepY { get; }

    public float[] SequenceX { get; }

    public float[] SequenceY { get; }

    /// <summary>The current h.</summary>
    public ReadOnlySpan<float> Hidden => _h[_phase];

    private OrtIoBinding Bind(float[] x, long[] xShape, float[]? y, long[]? yShape, long[] state, int from, int to)
    {
        var binding = _session.CreateIoBinding();
        _owned.Add(binding);
        binding.BindInput("X", Value(x, xShape));
        binding.BindInput("initial_h", Value(_h[from], state));
        binding.BindOutput("Y_h", Value(_h[to], state));
        if (_lstm)
        {
            binding.BindInput("initial_c", Value(_c[from], state));
            binding.BindOutput("Y_c", Value(_c[to], state));
        }

        if (y is not null)
        {
            binding.BindOutput("Y", Value(y, yShape!));
        }

        return binding;
    }

    private OrtValue Value(float[] data, long[] shape)
    {
        var value = OrtValue.CreateTensorValueFromMemory(data, shape);
        _owned.Add(value);
        return value;
    }

    /// <summary>One step from <see cref="StepX"/>; the new h is also copied to <see cref="StepY"/>, as the other competitors write y.</summary>
    public void Step()
    {
        _session.RunWithBinding(_run, _step[_phase]);
        _phase ^= 1;
        _h[_phase].AsSpan().CopyTo(StepY);
    }

    /// <summary>The whole sequence in <see cref="SequenceX"/>, outputs in <see cref="SequenceY"/>.</summary>
    public void Run()
    {
        _session.RunWithBinding(_run, _sequence[_phase]);
        _phase ^= 1;
    }

    public void Reset()
    {
        foreach (var a in _h)
        {
            Array.Clear(a);
        }

        foreach (var a in _c)
        {
            Array.Clear(a);
        }
    }

    public void Dispose()
    {
        foreach (var o in _owned)
        {
            o.Dispose();
        }

        _run.Dispose();
        _session.Dispose();
    }
}
