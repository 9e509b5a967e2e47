using Xunit;

namespace Embedded.Rnn.Tests;

/// <summary>DurableFile.Write's contract besides the call order (.ci/durability-check.sh checks that under strace).</summary>
public sealed class DurableFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("durable-file-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Write_replaces_the_file_and_leaves_no_temporary()
    {
        string path = Path.Combine(_directory, "weights.safetensors");
        DurableFile.Write(path, [1, 2, 3]);
        DurableFile.Write(path, [4, 5]);
        Assert.Equal([4, 5], File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFileSystemEntries(_directory));
    }

    [Fact]
    public void A_directory_is_refused_and_nothing_is_left_beside_it()
    {
        string folder = Directory.CreateDirectory(Path.Combine(_directory, "out")).FullName;
        var e = Assert.Throws<IOException>(() => DurableFile.Write(folder, [1]));
        Assert.Contains($"'{folder}' is a directory", e.Message);
        Assert.Equal([folder], Directory.GetFileSystemEntries(_directory));
        Assert.Empty(Directory.GetFileSystemEntries(folder));
    }
}
