using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Embedded.Rnn.Training;

/// <summary>
/// Forward with a tape, then backpropagation through time, for one sequence at a time on a model's generated
/// kernels. Every buffer is allocated at construction for up to <see cref="MaxSteps"/> steps, so a training
/// step allocates nothing. Not thread-safe: use one instance per worker (they may share the model).
/// </summary>
public sealed class SequenceBackprop
{
    private readonly ITrainableRnnModel _model;
    private readonly RnnShape _shape;
    private readonly int _hp;
    private readonly int _tapeStride;
    private readonly int _layerOutput;
    private readonly int _headPadded;
    private readonly float[] _tape;
    private readonly float[] _hidden;
    private readonly float[] _cell;
    private readonly float[] _inputs;
    private readonly float[][] _layerOutputs;
    private readonly float[][] _dropoutMasks;
    private readonly float[] _initialHidden;
    private readonly float[] _initialCell;
    private readonly float[] _preActivations;
    private readonly float[] _outputs;
    private readonly float[] _dAbove;
    private readonly float[] _dBelow;
    private readonly float[] _dh;
    private readonly float[] _dc;
    private readonly float[] _dhPrevious;
    private readonly float[] _dz;
    private readonly float[] _hiddenGradientNorms;
    private int _steps;

    /// <summary>
    /// With <see cref="Forward(ReadOnlySpan{float})"/>, the (T × OutputSize)-long output of the last forward pass.
    /// </summary>
    public ReadOnlySpan<float> Outputs => _model.HasHead ? _outputs.AsSpan(0, _steps * _shape.OutputSize) : _layerOutputs[^1].AsSpan(0, _steps * _layerOutput);

    /// <summary>Steps of the last forward pass.</summary>
    public int Steps => _steps;

    /// <summary>
    /// ‖dL/dh_t‖ for every step t of the last backward pass, per layer and direction: the gradient-flow
    /// diagnostic that shows gradients vanishing or exploding with distance from the loss.
    /// </summary>
    public ReadOnlySpan<float> HiddenGradientNorms(int layer, int direction = 0) =>
        _hiddenGradientNorms.AsSpan((layer * _shape.DirectionCount + direction) * MaxSteps, _steps);

    /// <summary>Refuses a model generated without training kernels, at compile time (the message names the fix).</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    [Obsolete(TrainingKernels.Missing, error: true)]
    [EditorBrowsable(EditorBrowsableState.Never)]
    public SequenceBackprop(IGeneratedRnnModel model, int maxSteps) => throw TrainingKernels.MissingFrom(model);

    /// <summary>Creates the buffers for sequences of up to <paramref name="maxSteps"/> steps.</summary>
    public SequenceBackprop(ITrainableRnnModel model, int maxSteps)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSteps, 1);
        _model = model;
        _shape = model.Shape;
        MaxSteps = maxSteps;
        _hp = KernelLayout.Padded(_shape.HiddenSize);
        _tapeStride = model.TapeLength;
        _layerOutput = _shape.DirectionCount * _shape.HiddenSize;
        _headPadded = KernelLayout.Padded(_shape.OutputSize);
        int slots = _shape.LayerCount * _shape.DirectionCount;
        _tape = new float[slots * maxSteps * _tapeStride];
        // h_t and c_t of every layer, direction and step: the next step starts from them and backward reads them.
        _hidden = new float[slots * maxSteps * _hp];
        _cell = model.HasCellState ? new float[slots * maxSteps * _hp] : _hidden;
        _inputs = new float[maxSteps * _shape.InputSize];
        _layerOutputs = Enumerable.Range(0, _shape.LayerCount).Select(_ => new float[maxSteps * _layerOutput]).ToArray();
        _dropoutMasks = Enumerable.Range(0, _shape.LayerCount).Select(_ => new float[maxSteps * _layerOutput]).ToArray();
        _initialHidden = new float[slots * _hp];
        _initialCell = new float[slots * _hp];
        _preActivations = new float[maxSteps * _headPadded];
        _outputs = new float[maxSteps * _shape.OutputSize];
        int widest = Math.Max(_shape.InputSize, _layerOutput);
        _dAbove = new float[maxSteps * widest];
        _dBelow = new float[maxSteps * widest];
        _dh = new float[_hp];
        _dc = new float[_hp];
        _dhPrevious = new float[_hp];
        _dz = new float[_headPadded];
        _hiddenGradientNorms = new float[slots * maxSteps];
        PackedGradients = model.PackedLengths.Select(n => new float[n]).ToArray();
        InputGradient = new float[maxSteps * _shape.InputSize];
        HiddenGradient = new float[slots * _hp];
        CellGradient = new float[slots * _hp];
    }

    /// <summary>Longest sequence the buffers hold.</summary>
    public int MaxSteps { get; }

    /// <summary>Weight gradients in packed order, one buffer per block; <see cref="Backward"/> adds to them.</summary>
    public float[][] PackedGradients { get; }

    /// <summary>dL/dx of the last backward pass, T × InputSize.</summary>
    public float[] InputGradient { get; }

    /// <summary>dL/dh0 of the last backward pass, per layer and direction (<see cref="KernelLayout.Padded"/>(HiddenSize) floats each).</summary>
    public float[] HiddenGradient { get; }

    /// <summary>dL/dc0 of the last backward pass (LSTM), per layer and direction (<see cref="KernelLayout.Padded"/>(HiddenSize) floats each).</summary>
    public float[] CellGradient { get; }

    /// <summary>The initial hidden state of a layer and direction for the next forward pass (zero unless set).</summary>
    public Span<float> InitialHidden(int layer, int direction = 0) => _initialHidden.AsSpan((layer * _shape.DirectionCount + direction) * _hp, _shape.HiddenSize);

    /// <summary>The initial cell state of a layer and direction (LSTM) for the next forward pass.</summary>
    public Span<float> InitialCell(int layer, int direction = 0) => _initialCell.AsSpan((layer * _shape.DirectionCount + direction) * _hp, _shape.HiddenSize);

    /// <summary>The final hidden state of a layer and direction after the last forward pass.</summary>
    public ReadOnlySpan<float> FinalHidden(int layer, int direction = 0) =>
        _hidden.AsSpan(StateIndex(layer * _shape.DirectionCount + direction, direction == 0 ? _steps - 1 : 0), _shape.HiddenSize);

    /// <summary>The final cell state (LSTM) of a layer and direction after the last forward pass.</summary>
    public ReadOnlySpan<float> FinalCell(int layer, int direction = 0) =>
        _cell.AsSpan(StateIndex(layer * _shape.DirectionCount + direction, direction == 0 ? _steps - 1 : 0), _shape.HiddenSize);

    /// <summary>
    /// Runs the model over <paramref name="xs"/> (T × InputSize) from the initial states, keeping the tape, and
    /// returns the outputs (T × OutputSize).
    /// </summary>
    /// <exception cref="ArgumentException">xs is empty, not whole steps, or longer than MaxSteps.</exception>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> xs)
    {
        var unused = default(DeterministicRandom);
        return Forward(xs, 0f, ref unused);
    }

    /// <summary>
    /// As <see cref="Forward(ReadOnlySpan{float})"/>, and each output of a layer that feeds another layer is
    /// dropped with probability <paramref name="dropout"/> (inverted dropout, drawn from <paramref name="random"/>).
    /// </summary>
    /// <exception cref="ArgumentException">xs is empty, not whole steps, or longer than MaxSteps; or dropout is not in [0, 1).</exception>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> xs, float dropout, scoped ref DeterministicRandom random)
    {
        int steps = xs.Length / _shape.InputSize;
        if (steps == 0 || steps * _shape.InputSize != xs.Length || steps > MaxSteps)
        {
            throw new ArgumentException($"xs has length {xs.Length}; expected T × {_shape.InputSize} with 1 <= T <= {MaxSteps}.", nameof(xs));
        }

        if (dropout is < 0f or >= 1f)
        {
            throw new ArgumentException("dropout must be in [0, 1).", nameof(dropout));
        }

        _steps = steps;
        xs.CopyTo(_inputs); // backward needs x_t again
        ref float input = ref _inputs[0];
        int inputStride = _shape.InputSize;
        for (int layer = 0; layer < _shape.LayerCount; layer++)
        {
            ref float output = ref _layerOutputs[layer][0];
            for (int direction = 0; direction < _shape.DirectionCount; direction++)
            {
                int slot = layer * _shape.DirectionCount + direction;
                ref float hPrevious = ref _initialHidden[slot * _hp];
                ref float cPrevious = ref _initialCell[slot * _hp];
                for (int i = 0; i < steps; i++)
                {
                    int t = direction == 0 ? i : steps - 1 - i;
                    ref float h = ref _hidden[StateIndex(slot, t)];
                    ref float c = ref _cell[StateIndex(slot, t)];
                    _model.ForwardStep(layer, direction, ref Unsafe.Add(ref input, t * inputStride), ref hPrevious, ref cPrevious, ref _tape[TapeIndex(slot, t)], ref h, ref c);
                    MemoryMarshal.CreateReadOnlySpan(ref h, _shape.HiddenSize).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref output, t * _layerOutput + direction * _shape.HiddenSize), _shape.HiddenSize));
                    hPrevious = ref h;
                    cPrevious = ref c;
                }
            }

            var mask = _dropoutMasks[layer].AsSpan(0, steps * _layerOutput);
            if (dropout > 0f && layer < _shape.LayerCount - 1)
            {
                float keep = 1f / (1f - dropout);
                var values = _layerOutputs[layer].AsSpan(0, steps * _layerOutput);
                for (int i = 0; i < mask.Length; i++)
                {
                    mask[i] = random.NextSingle() < dropout ? 0f : keep;
                    values[i] *= mask[i];
                }
            }
            else
            {
                mask.Fill(1f);
            }

            input = ref output;
            inputStride = _layerOutput;
        }

        if (!_model.HasHead)
        {
            return _layerOutputs[^1].AsSpan(0, steps * _layerOutput);
        }

        for (int t = 0; t < steps; t++)
        {
            ref float z = ref _preActivations[t * _headPadded];
            _model.HeadForward(ref input, ref z);
            input = ref Unsafe.Add(ref input, _layerOutput);
            var y = _outputs.AsSpan(t * _shape.OutputSize, _shape.OutputSize);
            var preActivation = MemoryMarshal.CreateReadOnlySpan(ref z, _shape.OutputSize);
            HeadActivations.Apply(_model.HeadActivation, preActivation, y);
        }

        return _outputs.AsSpan(0, steps * _shape.OutputSize);
    }

    /// <summary>
    /// Back-propagates dL/doutputs (T × OutputSize, for the last <see cref="Forward(ReadOnlySpan{float})"/>) through the head and
    /// every layer and step. Adds the weight gradients to <see cref="PackedGradients"/> and sets
    /// <see cref="InputGradient"/>, <see cref="HiddenGradient"/> and <see cref="CellGradient"/>. When
    /// <paramref name="gradientIsPreActivation"/>, the gradient is dL/dz before the head's activation (as a
    /// softmax cross-entropy gives it directly).
    /// </summary>
    /// <exception cref="ArgumentException">The gradient's length does not match the last forward pass.</exception>
    public void Backward(ReadOnlySpan<float> outputGradient, bool gradientIsPreActivation = false)
    {
        int steps = _steps;
        if (steps == 0 || outputGradient.Length != steps * _shape.OutputSize)
        {
            throw new ArgumentException($"outputGradient has length {outputGradient.Length}; expected {steps} × {_shape.OutputSize} for the last forward pass.", nameof(outputGradient));
        }

        var dAbove = _dAbove.AsSpan(0, steps * _layerOutput);
        if (_model.HasHead)
        {
            dAbove.Clear();
            var gradient = PackedGradients[^1];
            for (int t = 0; t < steps; t++)
            {
                var dz = _dz.AsSpan(0, _shape.OutputSize);
                var dy = outputGradient.Slice(t * _shape.OutputSize, _shape.OutputSize);
                if (gradientIsPreActivation)
                {
                    dy.CopyTo(dz);
                }
                else
                {
                    HeadActivations.Backward(_model.HeadActivation, _outputs.AsSpan(t * _shape.OutputSize, _shape.OutputSize), dy, dz);
                }

                _model.HeadBackward(gradient, ref _layerOutputs[^1][t * _layerOutput], ref _dz[0], ref dAbove[t * _layerOutput]);
            }
        }
        else
        {
            outputGradient.CopyTo(dAbove);
        }

        for (int layer = _shape.LayerCount - 1; layer >= 0; layer--)
        {
            int inputWidth = layer == 0 ? _shape.InputSize : _layerOutput;
            var dBelow = layer == 0 ? InputGradient.AsSpan(0, steps * inputWidth) : _dBelow.AsSpan(0, steps * inputWidth);
            dBelow.Clear();
            ref float input = ref layer == 0 ? ref _inputs[0] : ref _layerOutputs[layer - 1][0];
            for (int direction = 0; direction < _shape.DirectionCount; direction++)
            {
                int slot = layer * _shape.DirectionCount + direction;
                _dh.AsSpan().Clear();
                _dc.AsSpan().Clear();
                var gradient = PackedGradients[slot];
                for (int i = steps - 1; i >= 0; i--)
                {
                    int t = direction == 0 ? i : steps - 1 - i;
                    var above = dAbove.Slice(t * _layerOutput + direction * _shape.HiddenSize, _shape.HiddenSize);
                    // Squares in double: in float they underflow once the components fall below ~1e-19, and the
                    // diagnostic would show a vanishing gradient as exactly zero long before the gradient itself is.
                    double squares = 0;
                    for (int j = 0; j < above.Length; j++)
                    {
                        _dh[j] += above[j];
                        squares += (double)_dh[j] * _dh[j];
                    }

                    _hiddenGradientNorms[slot * MaxSteps + t] = (float)Math.Sqrt(squares);

                    ref float hPrevious = ref _initialHidden[slot * _hp];
                    ref float cPrevious = ref _initialCell[slot * _hp];
                    if (i > 0)
                    {
                        int previous = direction == 0 ? t - 1 : t + 1;
                        hPrevious = ref _hidden[StateIndex(slot, previous)];
                        cPrevious = ref _cell[StateIndex(slot, previous)];
                    }

                    _dhPrevious.AsSpan().Clear();
                    _model.BackwardStep(layer, direction, gradient, ref Unsafe.Add(ref input, t * inputWidth), ref hPrevious, ref cPrevious,
                        ref _tape[TapeIndex(slot, t)], ref _dh[0], ref _dc[0], ref dBelow[t * inputWidth], ref _dhPrevious[0]);
                    _dhPrevious.AsSpan().CopyTo(_dh);
                }

                _dh.AsSpan().CopyTo(HiddenGradient.AsSpan(slot * _hp, _hp));
                _dc.AsSpan().CopyTo(CellGradient.AsSpan(slot * _hp, _hp));
            }

            if (layer > 0)
            {
                // Through the dropout of the layer below (a mask of ones when dropout was off).
                var mask = _dropoutMasks[layer - 1].AsSpan(0, steps * _layerOutput);
                for (int i = 0; i < mask.Length; i++)
                {
                    dBelow[i] *= mask[i];
                }

                dBelow.CopyTo(dAbove);
            }
        }
    }

    /// <summary>Sets every packed gradient to zero (before a new mini-batch).</summary>
    public void ClearGradients()
    {
        foreach (var g in PackedGradients)
        {
            Array.Clear(g);
        }
    }

    private int TapeIndex(int slot, int t) => (slot * MaxSteps + t) * _tapeStride;

    private int StateIndex(int slot, int t) => (slot * MaxSteps + t) * _hp;
}
