using ScottPlot;

namespace Embedded.Rnn.Samples;

/// <summary>Saving charts the same way in every sample.</summary>
public static class Charts
{
    /// <summary>Saves <paramref name="plot"/> as a PNG and says where.</summary>
    public static void Save(Plot plot, string path, int width = 1200, int height = 600)
    {
        plot.SavePng(path, width, height);
        Console.WriteLine($"chart: {path}");
    }
}
