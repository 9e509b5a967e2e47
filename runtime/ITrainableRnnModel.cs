namespace Embedded.Rnn;

/// <summary>Activation of a generated model's dense head.</summary>
public enum HeadActivation
{
    /// <summary>No head, or a linear one.</summary>
    None,
    /// <summary>Element-wise logistic sigmoid.</summary>
    Sigmoid,
    /// <summary>Element-wise tanh.</summary>
    Tanh,
    /// <summary>Softmax over the outputs.</summary>
    Softmax,
}

/// <summary>
/// The generated forward-with-tape and backward (BPTT) kernels of a model, for the trainer. Training runs the
/// same forward kernels as inference (they also write what backward needs to a tape), so the trained model
/// is exactly the model that ships. A model implements this when it is generated with training kernels (the
/// <c>EmbeddedRnnTraining</c> MSBuild property, which the Embedded.Rnn.Training package sets). Not for concurrent
/// use with inference on the same instance while <see cref="LoadParameters"/> runs.
/// </summary>
/// <remarks>
/// Buffers: h, c, dh, dc and tape slices are padded to <see cref="KernelLayout.Padded"/>(HiddenSize) floats per layer
/// and direction, and their padding must be zero. A tape step holds <see cref="TapeLength"/> floats whose contents
/// are the cell's own (its pointwise operator writes and reads them). Gradients accumulate in packed order per block
/// (one block per layer and direction, then the head).
/// </remarks>
public interface ITrainableRnnModel : IGeneratedRnnModel
{
    /// <summary>The parameter tensors in PyTorch state_dict order.</summary>
    IReadOnlyList<ParameterSpec> ParameterSpecs { get; }

    /// <summary>True when the state has a cell part c (LSTM).</summary>
    bool HasCellState { get; }

    /// <summary>True when the model ends in a dense head (then block <c>LayerCount·DirectionCount</c> is the head).</summary>
    bool HasHead { get; }

    /// <summary>The head's activation (None without a head).</summary>
    HeadActivation HeadActivation { get; }

    /// <summary>Floats of tape per time step, per layer and direction.</summary>
    int TapeLength { get; }

    /// <summary>Floats of each packed block (and so of each packed gradient buffer).</summary>
    IReadOnlyList<int> PackedLengths { get; }

    /// <summary>Replaces the weights by PyTorch-layout tensors in <see cref="ParameterSpecs"/> order.</summary>
    /// <exception cref="ArgumentException">The tensors' count or lengths differ from ParameterSpecs.</exception>
    void LoadParameters(IReadOnlyList<float[]> parameters);

    /// <summary>Adds packed gradients (per block) to gradients in PyTorch layout (ParameterSpecs order).</summary>
    void AccumulateGradients(IReadOnlyList<float[]> packedGradients, IReadOnlyList<float[]> parameterGradients);

    /// <summary>
    /// One layer and direction, one step forward for <paramref name="streams"/> independent sequences at once, each from its
    /// (<paramref name="h"/>, <paramref name="c"/>): writes h_t to <paramref name="hNew"/>, c_t to <paramref name="cNew"/>
    /// (cells with a cell state) and the step's tape. Stream s reads x at s · <paramref name="xStride"/> floats past stream
    /// 0's, keeps h, c, hNew and cNew at s · <see cref="KernelLayout.Padded"/>(HiddenSize) and its tape at s ·
    /// <see cref="TapeLength"/>. Streams in a group go through the multi-stream tiles (each weight vector loaded once for
    /// the group), whose sums may differ from one stream's in the last bits; the result does not depend on anything but
    /// the stream count. <paramref name="hNew"/> and <paramref name="cNew"/> must not overlap <paramref name="h"/>: a
    /// tile's new h is written while later tiles still read the old one. For cells without a cell state, c and cNew are
    /// unused (pass any float, e.g. h and hNew).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">streams or xStride is negative.</exception>
    void ForwardSteps(int layer, int direction, int streams, ref float x, int xStride, ref float h, ref float c, ref float tape, ref float hNew, ref float cNew);

    /// <summary>
    /// Back-propagates one step of one layer and direction for <paramref name="streams"/> independent sequences at once,
    /// each started from its (<paramref name="h"/>, <paramref name="c"/>). Stream s reads x and adds to dx at s ·
    /// <paramref name="xStride"/> floats past stream 0's, keeps h, c, dh, dc and dhPrev at s · <see cref="KernelLayout.Padded"/>(HiddenSize)
    /// and its tape at s · <see cref="TapeLength"/>. On entry dh (and dc) hold dL/dh_t (dL/dc_t); afterwards dc holds
    /// dL/dc_{t-1}. Adds dL/dh_{t-1} into dhPrev (zero it first), dL/dx_t into dx, and every stream's weight gradient into
    /// <paramref name="gradient"/> (the block's packed gradient), stream by stream: the result equals calling it for one
    /// stream at a time, in order, bit for bit, while each weight and gradient vector is loaded once per group of streams.
    /// </summary>
    /// <exception cref="ArgumentException">The gradient is not the block's packed length.</exception>
    /// <exception cref="ArgumentOutOfRangeException">streams or xStride is negative.</exception>
    void BackwardSteps(int layer, int direction, int streams, Span<float> gradient, ref float x, int xStride, ref float h, ref float c,
        ref float tape, ref float dh, ref float dc, ref float dx, ref float dhPrev);

    /// <summary>The head's pre-activations z (padded to <see cref="KernelLayout.Padded"/>(OutputSize)) for one step's top-layer output.</summary>
    void HeadForward(ref float input, ref float preActivation);

    /// <summary>Back-propagates the head: adds dL/dinput into <paramref name="dInput"/> and the head's weight gradient into <paramref name="gradient"/>.</summary>
    void HeadBackward(Span<float> gradient, ref float input, ref float dPreActivation, ref float dInput);
}
