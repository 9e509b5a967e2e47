namespace Embedded.Rnn.Safetensors;

/// <summary>
/// How weights load: what to let through that loading refuses by default. Pass it to
/// <see cref="StateDictLoader.Load(SafetensorsFile, IReadOnlyList{ParameterSpec}, SafetensorsLoadOptions)"/> and hand the
/// tensors to the model's <c>FromParameters</c>, or to a model's <c>FromBakedWeights(options)</c>:
/// <code>var model = Gesture.FromParameters(StateDictLoader.Load(SafetensorsFile.Read(path), Gesture.Parameters, SafetensorsLoadOptions.AllowNonFinite));</code>
/// The generated <c>FromSafetensors</c> overloads always check, so their shape is unchanged. A flags enum, not an
/// options class, so that <c>FromBakedWeights(null)</c> still means the kernel path.
/// </summary>
[Flags]
public enum SafetensorsLoadOptions
{
    /// <summary>The default: every check, including that every weight is finite.</summary>
    None = 0,

    /// <summary>
    /// Loads NaN and infinite weights instead of refusing them. Such a model outputs NaN (or saturates) for every
    /// input that reaches those weights: use it only to reproduce a broken checkpoint.
    /// </summary>
    AllowNonFinite = 1,
}
