namespace Embedded.Rnn.Tool;

/// <summary>The embedded-rnn command.</summary>
public static class Program
{
    /// <summary>Runs the command line; exit code 0 done, 1 a check failed (golden run), 2 bad input or arguments.</summary>
    public static int Main(string[] args) => ToolCommands.Build().Parse(args).Invoke();
}
