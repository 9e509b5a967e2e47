namespace Embedded.Rnn.Safetensors;

/// <summary>
/// How a model loads its weights. A flags enum, not an options class, so that the overloads taking it never compete
/// with the existing <c>FromSafetensors(..., KernelPath? kernelPath = null)</c> for a <c>null</c> argument.
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
