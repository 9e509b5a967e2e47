namespace Embedded.Rnn.Tool;

/// <summary>A problem with the user's input (a file, an argument, a spec): printed as a one-line error, exit code 2.</summary>
public sealed class ToolException(string message) : Exception(message);
