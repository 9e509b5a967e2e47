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
    public void A_symbolic_link_left_at_the_temporary_path_is_replaced_not_followed()
    {
        // FileMode.Create followed the link: the victim got the new contents and the path became a link to it.
        string path = Path.Combine(_directory, "c"), victim = Path.Combine(_directory, "victim");
        File.WriteAllBytes(victim, [9]);
        File.CreateSymbolicLink(path + ".tmp", victim);
        DurableFile.Write(path, [1, 2]);
        Assert.Equal([9], File.ReadAllBytes(victim));
        Assert.Equal([1, 2], File.ReadAllBytes(path));
        Assert.Null(new FileInfo(path).LinkTarget);
        Assert.Equal([path, victim], Directory.GetFileSystemEntries(_directory).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void An_empty_path_is_refused()
    {
        // "" + ".tmp" is ".tmp" in the current folder, which the write replaced and then deleted.
        Assert.Throws<ArgumentException>(() => DurableFile.Write("", [1]));
        Assert.Throws<ArgumentNullException>(() => DurableFile.Write(null!, [1]));
        Assert.Throws<ArgumentException>(() => DurableFile.WriteAll([("", new byte[] { 1 })]));
    }

    [Fact]
    public void WriteAll_refuses_a_path_given_twice_or_as_another_ones_temporary_before_writing_anything()
    {
        // ("e.tmp", A) then ("e", B) reported success with A in e and B lost: e's temporary was e.tmp's file.
        string e = Path.Combine(_directory, "e");
        foreach (var files in new[] { new[] { e + ".tmp", e }, [e, e + ".tmp"], [e, Path.Combine(_directory, ".", "e")] })
        {
            var error = Assert.Throws<ArgumentException>(() => DurableFile.WriteAll([(files[0], new byte[] { 1 }), (files[1], new byte[] { 2 })]));
            Assert.Equal("files", error.ParamName);
            Assert.Empty(Directory.GetFileSystemEntries(_directory));
        }
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
