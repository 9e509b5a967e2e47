using System.ComponentModel;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Embedded.Rnn.Training;

/// <summary>
/// Forward with a tape, then backpropagation through time, for one sequence at a time on a model's generated
/// kernels. Every buffer is allocated at construction for up to <see cref="MaxSteps"/> steps, so a training
/// step allocates nothing. Not thread-safe: use one instance per worker (they may share the model).
/// </summary>
/// <remarks>
/// The trainer runs several sequences of the same length in lockstep through one instance (its streams), so that
/// backward takes each step of all of them through the model's streams kernel, which loads every weight and gradient
/// vector once for a group of streams. The public members are stream 0's. Layout: h, c and the tape keep the streams of
/// one step side by side (the kernel's strides); inputs, layer outputs and their gradients keep each stream's steps
/// together, <see cref="MaxSteps"/> steps apart.
/// </remarks>
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
    private int _streams;

    /// <summary>
    /// With <see cref="Forward(ReadOnlySpan{float})"/>, the (T × OutputSize)-long output of the last forward pass.
    /// </summary>
    public ReadOnlySpan<float> Outputs => StreamOutputs(0);

    /// <summary>Steps of the last forward pass.</summary>
    public int Steps => _steps;

    /// <summary>
    /// ‖dL/dh_t‖ for every step t of the last backward pass, per layer and direction: the gradient-flow
    /// diagnostic that shows gradients vanishing or exploding with distance from the loss.
    /// </summary>
    public ReadOnlySpan<float> HiddenGradientNorms(int layer, int direction = 0) =>
        _hiddenGradientNorms.AsSpan((layer * _shape.DirectionCount + direction) * MaxStreams * MaxSteps, _steps);

    /// <summary>Refuses a model generated without training kernels, at compile time (the message names the fix).</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    [Obsolete(TrainingKernels.Missing, error: true)]
    [EditorBrowsable(EditorBrowsableState.Never)]
    public SequenceBackprop(IGeneratedRnnModel model, int maxSteps) => throw TrainingKernels.MissingFrom(model);

    /// <summary>Creates the buffers for sequences of up to <paramref name="maxSteps"/> steps.</summary>
    public SequenceBackprop(ITrainableRnnModel model, int maxSteps)
        : this(model, maxSteps, maxStreams: 1)
    {
    }

    /// <summary>Creates the buffers for up to <paramref name="maxStreams"/> sequences in lockstep, of up to <paramref name="maxSteps"/> steps.</summary>
    internal SequenceBackprop(ITrainableRnnModel model, int maxSteps, int maxStreams)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSteps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxStreams, 1);
        _model = model;
        _shape = model.Shape;
        MaxSteps = maxSteps;
        MaxStreams = maxStreams;
        _hp = KernelLayout.Padded(_shape.HiddenSize);
        _tapeStride = model.TapeLength;
        _layerOutput = _shape.DirectionCount * _shape.HiddenSize;
        _headPadded = KernelLayout.Padded(_shape.OutputSize);
        int slots = _shape.LayerCount * _shape.DirectionCount;
        int sequences = maxStreams * maxSteps;
        _tape = new float[slots * sequences * _tapeStride];
        // h_t and c_t of every layer, direction, step and stream: the next step starts from them and backward reads them.
        _hidden = new float[slots * sequences * _hp];
        _cell = model.HasCellState ? new float[slots * sequences * _hp] : _hidden;
        _inputs = new float[sequences * _shape.InputSize];
        _layerOutputs = Enumerable.Range(0, _shape.LayerCount).Select(_ => new float[sequences * _layerOutput]).ToArray();
        _dropoutMasks = Enumerable.Range(0, _shape.LayerCount).Select(_ => new float[sequences * _layerOutput]).ToArray();
        _initialHidden = new float[slots * maxStreams * _hp];
        _initialCell = new float[slots * maxStreams * _hp];
        _preActivations = new float[sequences * _headPadded];
        _outputs = new float[sequences * _shape.OutputSize];
        int widest = Math.Max(_shape.InputSize, _layerOutput);
        _dAbove = new float[sequences * widest];
        _dBelow = new float[sequences * widest];
        _dh = new float[maxStreams * _hp];
        _dc = new float[maxStreams * _hp];
        _dhPrevious = new float[maxStreams * _hp];
        _dz = new float[_headPadded];
        _hiddenGradientNorms = new float[slots * sequences];
        PackedGradients = model.PackedLengths.Select(n => new float[n]).ToArray();
        InputGradient = new float[sequences * _shape.InputSize];
        HiddenGradient = new float[slots * maxStreams * _hp];
        CellGradient = new float[slots * maxStreams * _hp];
    }

    /// <summary>Longest sequence the buffers hold.</summary>
    public int MaxSteps { get; }

    /// <summary>Sequences the buffers hold side by side (1 through the public constructor).</summary>
    internal int MaxStreams { get; }

    /// <summary>Weight gradients in packed order, one buffer per block; <see cref="Backward(ReadOnlySpan{float}, bool)"/> adds to them.</summary>
    public float[][] PackedGradients { get; }

    /// <summary>dL/dx of the last backward pass, T × InputSize.</summary>
    public float[] InputGradient { get; }

    /// <summary>dL/dh0 of the last backward pass, per layer and direction (<see cref="KernelLayout.Padded"/>(HiddenSize) floats each).</summary>
    public float[] HiddenGradient { get; }

    /// <summary>dL/dc0 of the last backward pass (LSTM), per layer and direction (<see cref="KernelLayout.Padded"/>(HiddenSize) floats each).</summary>
    public float[] CellGradient { get; }

    /// <summary>The initial hidden state of a layer and direction for the next forward pass (zero unless set).</summary>
    public Span<float> InitialHidden(int layer, int direction = 0) => InitialHidden(layer, direction, 0);

    /// <summary>The initial cell state of a layer and direction (LSTM) for the next forward pass.</summary>
    public Span<float> InitialCell(int layer, int direction = 0) => InitialCell(layer, direction, 0);

    /// <summary>The final hidden state of a layer and direction after the last forward pass.</summary>
    public ReadOnlySpan<float> FinalHidden(int layer, int direction = 0) => FinalHidden(layer, direction, 0);

    /// <summary>The final cell state (LSTM) of a layer and direction after the last forward pass.</summary>
    public ReadOnlySpan<float> FinalCell(int layer, int direction = 0) => FinalCell(layer, direction, 0);

    internal Span<float> InitialHidden(int layer, int direction, int stream) =>
        _initialHidden.AsSpan(InitialIndex(layer * _shape.DirectionCount + direction, stream), _shape.HiddenSize);

    internal Span<float> InitialCell(int layer, int direction, int stream) =>
        _initialCell.AsSpan(InitialIndex(layer * _shape.DirectionCount + direction, stream), _shape.HiddenSize);

    internal ReadOnlySpan<float> FinalHidden(int layer, int direction, int stream) =>
        _hidden.AsSpan(StateIndex(layer * _shape.DirectionCount + direction, direction == 0 ? _steps - 1 : 0, stream), _shape.HiddenSize);

    internal ReadOnlySpan<float> FinalCell(int layer, int direction, int stream) =>
        _cell.AsSpan(StateIndex(layer * _shape.DirectionCount + direction, direction == 0 ? _steps - 1 : 0, stream), _shape.HiddenSize);

    /// <summary>Where stream <paramref name="stream"/>'s inputs go before <see cref="Forward(int, int, float, Span{DeterministicRandom})"/> (T × InputSize).</summary>
    internal Span<float> StreamInputs(int stream, int steps) => _inputs.AsSpan(stream * MaxSteps * _shape.InputSize, steps * _shape.InputSize);

    /// <summary>Stream <paramref name="stream"/>'s outputs of the last forward pass (T × OutputSize).</summary>
    internal ReadOnlySpan<float> StreamOutputs(int stream) => _model.HasHead
        ? _outputs.AsSpan(stream * MaxSteps * _shape.OutputSize, _steps * _shape.OutputSize)
        : _layerOutputs[^1].AsSpan(stream * MaxSteps * _layerOutput, _steps * _layerOutput);

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

        xs.CopyTo(_inputs); // backward needs x_t again
        Forward(1, steps, dropout, new Span<DeterministicRandom>(ref random));
        return Outputs;
    }

    /// <summary>
    /// Runs <paramref name="streams"/> sequences of <paramref name="steps"/> steps in lockstep from their initial states
    /// (inputs written to <see cref="StreamInputs"/>), each with its own dropout random; as the single-sequence forward.
    /// </summary>
    /// <exception cref="ArgumentException">steps or streams out of range, fewer randoms than streams, or dropout not in [0, 1).</exception>
    internal void Forward(int streams, int steps, float dropout, Span<DeterministicRandom> randoms)
    {
        if (steps < 1 || steps > MaxSteps || streams < 1 || streams > MaxStreams || randoms.Length < streams)
        {
            throw new ArgumentException($"{streams} streams of {steps} steps: expected 1 to {MaxStreams} streams of 1 to {MaxSteps} steps, each with a random.");
        }

        if (dropout is < 0f or >= 1f)
        {
            throw new ArgumentException("dropout must be in [0, 1).", nameof(dropout));
        }

        _steps = steps;
        _streams = streams;
        ref float input = ref _inputs[0];
        int inputWidth = _shape.InputSize;
        for (int layer = 0; layer < _shape.LayerCount; layer++)
        {
            ref float output = ref _layerOutputs[layer][0];
            for (int direction = 0; direction < _shape.DirectionCount; direction++)
            {
                int slot = layer * _shape.DirectionCount + direction;
                for (int i = 0; i < steps; i++)
                {
                    int t = direction == 0 ? i : steps - 1 - i;
                    int previous = direction == 0 ? t - 1 : t + 1;
                    // Every stream's step at once: its states and tapes are consecutive, its inputs MaxSteps steps apart.
                    ref float hPrevious = ref i == 0 ? ref _initialHidden[InitialIndex(slot, 0)] : ref _hidden[StateIndex(slot, previous, 0)];
                    ref float cPrevious = ref i == 0 ? ref _initialCell[InitialIndex(slot, 0)] : ref _cell[StateIndex(slot, previous, 0)];
                    _model.ForwardSteps(layer, direction, streams, ref Unsafe.Add(ref input, SequenceIndex(0, t, inputWidth)), MaxSteps * inputWidth,
                        ref hPrevious, ref cPrevious, ref _tape[TapeIndex(slot, t, 0)], ref _hidden[StateIndex(slot, t, 0)], ref _cell[StateIndex(slot, t, 0)]);
                    for (int n = 0; n < streams; n++)
                    {
                        _hidden.AsSpan(StateIndex(slot, t, n), _shape.HiddenSize).CopyTo(
                            MemoryMarshal.CreateSpan(ref Unsafe.Add(ref output, SequenceIndex(n, t, _layerOutput) + direction * _shape.HiddenSize), _shape.HiddenSize));
                    }
                }
            }

            for (int n = 0; n < streams; n++)
            {
                var mask = _dropoutMasks[layer].AsSpan(SequenceIndex(n, 0, _layerOutput), steps * _layerOutput);
                if (dropout > 0f && layer < _shape.LayerCount - 1)
                {
                    float keep = 1f / (1f - dropout);
                    var values = _layerOutputs[layer].AsSpan(SequenceIndex(n, 0, _layerOutput), steps * _layerOutput);
                    for (int i = 0; i < mask.Length; i++)
                    {
                        mask[i] = randoms[n].NextSingle() < dropout ? 0f : keep;
                        values[i] *= mask[i];
                    }
                }
                else
                {
                    mask.Fill(1f);
                }
            }

            input = ref output;
            inputWidth = _layerOutput;
        }

        if (!_model.HasHead)
        {
            return;
        }

        for (int n = 0; n < streams; n++)
        {
            for (int t = 0; t < steps; t++)
            {
                ref float z = ref _preActivations[SequenceIndex(n, t, _headPadded)];
                _model.HeadForward(ref Unsafe.Add(ref input, SequenceIndex(n, t, _layerOutput)), ref z);
                var y = _outputs.AsSpan(SequenceIndex(n, t, _shape.OutputSize), _shape.OutputSize);
                HeadActivations.Apply(_model.HeadActivation, MemoryMarshal.CreateReadOnlySpan(ref z, _shape.OutputSize), y);
            }
        }
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
        if (_steps == 0 || _streams != 1 || outputGradient.Length != _steps * _shape.OutputSize)
        {
            throw new ArgumentException($"outputGradient has length {outputGradient.Length}; expected {_steps} × {_shape.OutputSize} for the last forward pass.", nameof(outputGradient));
        }

        Backward(outputGradient, 0, gradientIsPreActivation);
    }

    /// <summary>
    /// As <see cref="Backward(ReadOnlySpan{float}, bool)"/> for every stream of the last forward pass: stream n's dL/doutputs
    /// start at n × <paramref name="gradientStride"/>. Each step goes back through all streams in one call of the model's
    /// streams backward kernel.
    /// </summary>
    /// <exception cref="ArgumentException">The gradients do not cover the last forward pass's streams.</exception>
    internal void Backward(ReadOnlySpan<float> outputGradients, int gradientStride, bool gradientIsPreActivation)
    {
        int steps = _steps;
        int streams = _streams;
        int length = steps * _shape.OutputSize;
        if (steps == 0 || (streams > 1 && gradientStride < length) || outputGradients.Length < (streams - 1) * gradientStride + length)
        {
            throw new ArgumentException($"outputGradients has length {outputGradients.Length}; expected {streams} streams of {steps} × {_shape.OutputSize}, {gradientStride} apart.", nameof(outputGradients));
        }

        int aboveStride = MaxSteps * _layerOutput;
        var dAbove = _dAbove.AsSpan(0, streams * aboveStride);
        if (_model.HasHead)
        {
            dAbove.Clear();
            var gradient = PackedGradients[^1];
            for (int n = 0; n < streams; n++)
            {
                for (int t = 0; t < steps; t++)
                {
                    var dz = _dz.AsSpan(0, _shape.OutputSize);
                    var dy = outputGradients.Slice(n * gradientStride + t * _shape.OutputSize, _shape.OutputSize);
                    if (gradientIsPreActivation)
                    {
                        dy.CopyTo(dz);
                    }
                    else
                    {
                        HeadActivations.Backward(_model.HeadActivation, _outputs.AsSpan(SequenceIndex(n, t, _shape.OutputSize), _shape.OutputSize), dy, dz);
                    }

                    _model.HeadBackward(gradient, ref _layerOutputs[^1][SequenceIndex(n, t, _layerOutput)], ref _dz[0], ref dAbove[SequenceIndex(n, t, _layerOutput)]);
                }
            }
        }
        else
        {
            for (int n = 0; n < streams; n++)
            {
                outputGradients.Slice(n * gradientStride, length).CopyTo(dAbove.Slice(n * aboveStride));
            }
        }

        for (int layer = _shape.LayerCount - 1; layer >= 0; layer--)
        {
            int inputWidth = layer == 0 ? _shape.InputSize : _layerOutput;
            int inputStride = MaxSteps * inputWidth;
            var dBelow = (layer == 0 ? InputGradient : _dBelow).AsSpan(0, streams * inputStride);
            dBelow.Clear();
            ref float input = ref layer == 0 ? ref _inputs[0] : ref _layerOutputs[layer - 1][0];
            var dh = _dh.AsSpan(0, streams * _hp);
            var dc = _dc.AsSpan(0, streams * _hp);
            var dhPrevious = _dhPrevious.AsSpan(0, streams * _hp);
            for (int direction = 0; direction < _shape.DirectionCount; direction++)
            {
                int slot = layer * _shape.DirectionCount + direction;
                dh.Clear();
                dc.Clear();
                var gradient = PackedGradients[slot];
                for (int i = steps - 1; i >= 0; i--)
                {
                    int t = direction == 0 ? i : steps - 1 - i;
                    for (int n = 0; n < streams; n++)
                    {
                        var above = dAbove.Slice(SequenceIndex(n, t, _layerOutput) + direction * _shape.HiddenSize, _shape.HiddenSize);
                        var dhStream = dh.Slice(n * _hp, _shape.HiddenSize);
                        TensorPrimitives.Add(dhStream, above, dhStream);
                        // Squares in double (SquareSums): in float they underflow once the components fall below ~1e-19,
                        // and the diagnostic would show a vanishing gradient as exactly zero long before the gradient is.
                        _hiddenGradientNorms[(slot * MaxStreams + n) * MaxSteps + t] = (float)Math.Sqrt(SquareSums.Of(dhStream));
                    }

                    int previous = direction == 0 ? t - 1 : t + 1;
                    ref float hPrevious = ref i == 0 ? ref _initialHidden[InitialIndex(slot, 0)] : ref _hidden[StateIndex(slot, previous, 0)];
                    ref float cPrevious = ref i == 0 ? ref _initialCell[InitialIndex(slot, 0)] : ref _cell[StateIndex(slot, previous, 0)];
                    dhPrevious.Clear();
                    _model.BackwardSteps(layer, direction, streams, gradient, ref Unsafe.Add(ref input, t * inputWidth), inputStride, ref hPrevious, ref cPrevious,
                        ref _tape[TapeIndex(slot, t, 0)], ref _dh[0], ref _dc[0], ref dBelow[t * inputWidth], ref _dhPrevious[0]);
                    dhPrevious.CopyTo(dh);
                }

                dh.CopyTo(HiddenGradient.AsSpan(InitialIndex(slot, 0)));
                dc.CopyTo(CellGradient.AsSpan(InitialIndex(slot, 0)));
            }

            if (layer > 0)
            {
                // Through the dropout of the layer below (a mask of ones when dropout was off).
                var mask = _dropoutMasks[layer - 1].AsSpan(0, streams * inputStride);
                for (int n = 0; n < streams; n++)
                {
                    for (int i = n * inputStride; i < n * inputStride + steps * _layerOutput; i++)
                    {
                        dBelow[i] *= mask[i];
                    }
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

    // Step t of every stream side by side: the kernels' strides (PaddedHidden, TapeLength) apart.
    private int TapeIndex(int slot, int t, int stream) => ((slot * MaxSteps + t) * MaxStreams + stream) * _tapeStride;

    private int StateIndex(int slot, int t, int stream) => ((slot * MaxSteps + t) * MaxStreams + stream) * _hp;

    private int InitialIndex(int slot, int stream) => (slot * MaxStreams + stream) * _hp;

    // Each stream's steps together, MaxSteps steps of width floats apart.
    private int SequenceIndex(int stream, int t, int width) => (stream * MaxSteps + t) * width;
}
