namespace Embedded.Rnn.Tool;

/// <summary>The embedded-rnn command.</summary>
public static class Program
{
    /// <summary>Runs the command line; exit code 0 done, 1 a check failed (golden run) or the arguments are wrong, 2 bad input.</summary>
    public static int Main(string[] args) => ToolCommands.Run(args);
}
