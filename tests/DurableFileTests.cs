using Xunit;

namespace Embedded.Rnn.Tests;

/// <summary>DurableFile's contract besides the call order (.ci/durability-check.sh checks that under strace).</summary>
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

    [Fact]
    public void WriteAll_writes_every_file_or_when_one_cannot_be_written_changes_none()
    {
        string spec = Path.Combine(_directory, "m.rnn.json"), weights = Path.Combine(_directory, "m.safetensors");
        DurableFile.WriteAll([(weights, new byte[] { 1, 2 }), (spec, new byte[] { 3 })]);
        Assert.Equal([1, 2], File.ReadAllBytes(weights));
        Assert.Equal([3], File.ReadAllBytes(spec));

        // The spec's temporary cannot be made (a folder is in its way): the weights, written first, stay as they were too.
        string blocked = Directory.CreateDirectory(spec + ".tmp").FullName;
        var e = Record.Exception(() => DurableFile.WriteAll([(weights, new byte[] { 4 }), (spec, new byte[] { 5 })]));
        Assert.True(e is IOException or UnauthorizedAccessException, e?.ToString() ?? "no exception");
        Assert.Equal([1, 2], File.ReadAllBytes(weights));
        Assert.Equal([3], File.ReadAllBytes(spec));
        Assert.Equal([spec, blocked, weights], Directory.GetFileSystemEntries(_directory).Order(StringComparer.Ordinal)); // no temporary of its own left

        Directory.Delete(blocked);
        DurableFile.WriteAll([(weights, new byte[] { 4 }), (spec, new byte[] { 5 })]);
        Assert.Equal([4], File.ReadAllBytes(weights));
        Assert.Equal([5], File.ReadAllBytes(spec));
        Assert.Equal([spec, weights], Directory.GetFileSystemEntries(_directory).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void WriteAll_refuses_a_directory_before_writing_anything()
    {
        string weights = Path.Combine(_directory, "m.safetensors"), folder = Directory.CreateDirectory(Path.Combine(_directory, "out")).FullName;
        var e = Assert.Throws<IOException>(() => DurableFile.WriteAll([(weights, new byte[] { 1 }), (folder, new byte[] { 2 })]));
        Assert.Contains($"'{folder}' is a directory", e.Message);
        Assert.Equal([folder], Directory.GetFileSystemEntries(_directory)); // the weights not written, no temporary left
    }
}
