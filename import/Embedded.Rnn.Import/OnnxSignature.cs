using Embedded.Rnn.Import.Onnx;

namespace Embedded.Rnn.Import;

/// <summary>
/// How to run the ONNX model on sequences and read its answer: the graph's input and output names, which input axis is
/// time, and where step t, sequence b and feature f of the model's output sit in the graph's output (which the
/// importer followed through every Transpose, Squeeze and Reshape). The golden check of <c>embedded-rnn import</c>
/// uses it to compare with ONNX Runtime.
/// </summary>
public sealed class OnnxSignature
{
    private readonly Dim[] _output;
    private readonly AxisLabel _time;
    private readonly int _directions;
    private readonly int _hidden;

    internal OnnxSignature(string inputName, string outputName, AxisLabel time, int?[] fixedInputSizes, int features, Dim[] output, int directions, int hidden)
    {
        InputName = inputName;
        OutputName = outputName;
        _time = time;
        _output = output;
        _directions = directions;
        _hidden = hidden;
        Features = features;
        FixedSteps = fixedInputSizes[time == AxisLabel.X0 ? 0 : 1];
        FixedBatch = fixedInputSizes[time == AxisLabel.X0 ? 1 : 0];
        TimeAxis = time == AxisLabel.X0 ? 0 : 1;
    }

    /// <summary>The graph input the sequences go to.</summary>
    public string InputName { get; }

    /// <summary>The graph output the model's outputs come from.</summary>
    public string OutputName { get; }

    /// <summary>0 when the input is [time, batch, features] (time-major), 1 when [batch, time, features].</summary>
    public int TimeAxis { get; }

    /// <summary>Input features per step.</summary>
    public int Features { get; }

    /// <summary>The number of steps the graph fixes in its input shape, or null when it is dynamic.</summary>
    public int? FixedSteps { get; }

    /// <summary>The batch size the graph fixes in its input shape, or null when it is dynamic.</summary>
    public int? FixedBatch { get; }

    /// <summary>The input's shape for <paramref name="steps"/> steps of <paramref name="batch"/> sequences.</summary>
    public long[] InputShape(int steps, int batch) => TimeAxis == 0 ? [steps, batch, Features] : [batch, steps, Features];

    /// <summary>Where feature <paramref name="feature"/> of step <paramref name="step"/> of sequence <paramref name="sequence"/> sits in the input (row-major).</summary>
    public long InputOffset(int step, int sequence, int feature, int steps, int batch) =>
        (TimeAxis == 0 ? ((long)step * batch) + sequence : ((long)sequence * steps) + step) * Features + feature;

    /// <summary>The output's shape for <paramref name="steps"/> steps of <paramref name="batch"/> sequences.</summary>
    public long[] OutputShape(int steps, int batch) => _output.Select(d => Size(d, steps, batch)).ToArray();

    /// <summary>Where output <paramref name="feature"/> of step <paramref name="step"/> of sequence <paramref name="sequence"/> sits in the graph's output (row-major).</summary>
    public long OutputOffset(int step, int sequence, int feature, int steps, int batch)
    {
        long offset = 0;
        foreach (var dim in _output)
        {
            long index = 0;
            foreach (var part in dim.Parts)
            {
                index = (index * PartSize(part, dim, steps, batch)) + PartIndex(part, step, sequence, feature);
            }

            offset = (offset * Size(dim, steps, batch)) + index;
        }

        return offset;
    }

    private long Size(Dim dim, int steps, int batch) => dim.Parts.Aggregate(1L, (size, part) => size * PartSize(part, dim, steps, batch));

    private long PartSize(AxisLabel part, Dim dim, int steps, int batch) => part switch
    {
        AxisLabel.X0 or AxisLabel.X1 => part == _time ? steps : batch,
        AxisLabel.Direction => _directions,
        AxisLabel.Hidden => _hidden,
        AxisLabel.Feature => dim.Size,
        _ => 1,
    };

    private long PartIndex(AxisLabel part, int step, int sequence, int feature) => part switch
    {
        AxisLabel.X0 or AxisLabel.X1 => part == _time ? step : sequence,
        AxisLabel.Direction => feature / _hidden,
        AxisLabel.Hidden => feature % _hidden,
        AxisLabel.Feature => feature,
        _ => 0,
    };
}
