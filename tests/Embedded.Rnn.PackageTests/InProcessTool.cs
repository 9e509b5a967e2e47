using System.CommandLine;
using Embedded.Rnn.Tool;

namespace Embedded.Rnn.PackageTests;

/// <summary>The tool's commands run in this process with their output captured, as the tool tests call them.</summary>
internal static class InProcessTool
{
    public static (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = ToolCommands.Run(args, new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>A written spec on one line (its lines trimmed and joined by a space), to compare with an expected spec.</summary>
    public static string Collapse(string text) => string.Join(' ', text.Split(['\n', '\r'], StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()));
}
