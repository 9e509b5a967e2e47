using Embedded.Rnn.Samples;
using Xunit;

namespace Embedded.Rnn.Tests.Samples;

/// <summary>The samples' shared command line: bad values are refused before the sample runs.</summary>
public sealed class SampleOptionsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sample-options-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void A_file_as_the_output_folder_and_fewer_than_one_worker_are_refused_before_the_sample_runs()
    {
        string file = Path.Combine(_directory, "taken");
        File.WriteAllText(file, "not a folder");
        foreach (string[] args in new[] { ["--out", file], ["--workers", "0"], new[] { "--workers", "-2" } })
        {
            bool ran = false;
            int code = SampleOptions.Run(args, "test", _ => { ran = true; return 0; });
            Assert.NotEqual(0, code);
            Assert.False(ran, string.Join(' ', args));
        }

        SampleOptions? parsed = null;
        string folder = Path.Combine(_directory, "new", "out");
        Assert.Equal(7, SampleOptions.Run(["--out", folder, "--workers", "1", "--fast"], "test", options => { parsed = options; return 7; }));
        Assert.Equal(new SampleOptions(true, folder, 1), parsed);
        Assert.True(Directory.Exists(folder));
    }
}
