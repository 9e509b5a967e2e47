using System.Collections.Generic;

namespace Embedded.Rnn.Generator.Model;

internal enum CellKind
{
    Rnn,
    Lstm,
    Gru,
}

internal enum RecurrentActivation
{
    Tanh,
    Relu,
    LeakyRelu,
}

/// <summary>Which runtime the emitted code is for.</summary>
internal enum TargetRuntime
{
    /// <summary>.NET 10 with the Embedded.Rnn runtime: SIMD kernels on every path.</summary>
    Dotnet,
    /// <summary>.NET nanoFramework 1.x microcontrollers: self-contained scalar code on float[] (RnnGenerator.NanoEmitter).</summary>
    NanoFramework,
}

internal enum HeadActivation
{
    None,
    Sigmoid,
    Tanh,
    Softmax,
}

/// <summary>The optional dense layer on top of the recurrent stack.</summary>
internal sealed record HeadSpec(int Output, HeadActivation Activation);

/// <summary>A validated model: everything the emitter needs, and nothing that defeats caching.</summary>
internal sealed record ModelSpec(
    string? Namespace,
    string ClassName,
    CellKind Cell,
    RecurrentActivation Activation,
    float NegativeSlope,
    int Input,
    int Hidden,
    int Layers,
    bool Bidirectional,
    bool Bias,
    HeadSpec? Head,
    EquatableArray<BakedTensor> BakedWeights,
    TargetRuntime Target = TargetRuntime.Dotnet)
{
    public int Directions => Bidirectional ? 2 : 1;

    /// <summary>Rows per gate block in PyTorch's weight matrices (rnn 1, lstm 4: i,f,g,o, gru 3: r,z,n).</summary>
    public int Gates => Cell switch
    {
        CellKind.Lstm => 4,
        CellKind.Gru => 3,
        _ => 1,
    };

    public int LayerOutput => Directions * Hidden;

    public int Output => Head?.Output ?? LayerOutput;

    public bool HasBakedWeights => BakedWeights.Count > 0;

    /// <summary>The parameter tensors in PyTorch state_dict order: (name, shape).</summary>
    public IEnumerable<(string Name, int[] Shape)> Parameters()
    {
        for (int layer = 0; layer < Layers; layer++)
        {
            for (int direction = 0; direction < Directions; direction++)
            {
                string suffix = layer.ToString(System.Globalization.CultureInfo.InvariantCulture) + (direction == 1 ? "_reverse" : string.Empty);
                yield return ("weight_ih_l" + suffix, new[] { Gates * Hidden, layer == 0 ? Input : LayerOutput });
                yield return ("weight_hh_l" + suffix, new[] { Gates * Hidden, Hidden });
                if (Bias)
                {
                    yield return ("bias_ih_l" + suffix, new[] { Gates * Hidden });
                    yield return ("bias_hh_l" + suffix, new[] { Gates * Hidden });
                }
            }
        }

        if (Head is not null)
        {
            yield return ("head.weight", new[] { Head.Output, LayerOutput });
            yield return ("head.bias", new[] { Head.Output });
        }
    }
}

/// <summary>A parameter tensor baked into the binary from the spec's weights file.</summary>
internal sealed record BakedTensor(string Name, EquatableArray<float> Values);

/// <summary>A class carrying [RnnModel], as found in syntax.</summary>
internal sealed record ModelTarget(
    string? Namespace,
    string ClassName,
    string SourceFilePath,
    string? SpecPath,
    bool IsPartial,
    bool IsSupportedShape,
    int AttributeCount,
    LocationInfo? AttributeLocation,
    LocationInfo? ClassNameLocation);

/// <summary>An additional file that may hold a spec.</summary>
internal sealed record SpecFile(string Path, string? Text);

/// <summary>What the parser made of one target: a spec to emit (or null) and diagnostics to report.</summary>
internal sealed record ModelResult(ModelSpec? Spec, string HintName, EquatableArray<DiagnosticInfo> Diagnostics);
