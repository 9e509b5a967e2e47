namespace Embedded.Rnn.Samples;

/// <summary>The data sets bundled with the samples (copied next to the binary from samples/data).</summary>
public static class DataFiles
{
    /// <summary>The full path of a bundled data file.</summary>
    /// <exception cref="FileNotFoundException">The file is not next to the binary.</exception>
    public static string Path(string fileName)
    {
        string path = System.IO.Path.Combine(AppContext.BaseDirectory, "data", fileName);
        return File.Exists(path) ? path : throw new FileNotFoundException($"bundled data file '{fileName}' is missing next to the sample ({path}).", path);
    }
}
