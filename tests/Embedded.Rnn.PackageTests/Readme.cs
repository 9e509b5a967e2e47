namespace Embedded.Rnn.PackageTests;

/// <summary>The README's quick start, read from README.md itself, so the test runs exactly what users copy.</summary>
public static class Readme
{
    /// <summary>The fenced block after <c>&lt;!-- quick-start:{name}</c>, without the list item's indentation.</summary>
    public static string QuickStartBlock(string name)
    {
        var lines = File.ReadAllLines(Path.Combine(ProcessRunner.RepositoryRoot, "README.md"));
        int marker = Array.FindIndex(lines, l => l.TrimStart().StartsWith($"<!-- quick-start:{name}", StringComparison.Ordinal));
        if (marker < 0)
        {
            throw new InvalidOperationException($"README.md has no <!-- quick-start:{name} --> marker");
        }

        int open = Array.FindIndex(lines, marker + 1, l => l.TrimStart().StartsWith("```", StringComparison.Ordinal));
        int close = Array.FindIndex(lines, open + 1, l => l.TrimStart().StartsWith("```", StringComparison.Ordinal));
        int indent = lines[open].Length - lines[open].TrimStart().Length;
        return string.Join("\n", lines[(open + 1)..close].Select(l => l.Length >= indent && string.IsNullOrWhiteSpace(l[..indent]) ? l[indent..] : l.TrimStart())) + "\n";
    }
}
