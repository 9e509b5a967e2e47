namespace Embedded.Rnn.Safetensors;

/// <summary>
/// A safetensors file is malformed, or its tensors do not match what a model expects. The message names the
/// tensor (where there is one) and says what was expected.
/// </summary>
public sealed class SafetensorsException : System.Exception
{
    /// <summary>Creates the exception with a message that names the tensor and the expectation.</summary>
    public SafetensorsException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message that adds context (such as the file's name) to <paramref name="inner"/>'s.</summary>
    public SafetensorsException(string message, System.Exception inner)
        : base(message, inner)
    {
    }
}
