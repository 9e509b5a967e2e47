using System.IO.Compression;
using System.Text;
using Embedded.Rnn.Training;
using Xunit;

namespace Embedded.Rnn.Tests;

public sealed class CsvTableTests
{
    private static CsvTable Parse(string text, CsvReadOptions? options = null) => CsvTable.Parse(new StringReader(text), "t.csv", options);

    [Fact]
    public void ReadsNumbersTextAndQuotedHeaders()
    {
        var table = Parse("\"date\",\"co2\"\n1958-03-29,316.1\n\n1958-04-05,\"317.3\"\n", new CsvReadOptions { TextColumns = ["date"] });
        Assert.Equal(["date", "co2"], table.Columns);
        Assert.Equal([316.1f, 317.3f], table.Numbers("co2"));
        Assert.Equal(["1958-03-29", "1958-04-05"], table.Texts("date"));
        Assert.Equal(4, table.LineOf(1));
    }

    [Fact]
    public void LinesOfSpacesAreBlankAndAByteOrderMarkIsNotPartOfTheFirstValue()
    {
        // "Blank lines are skipped" held only for empty ones; and Parse of text starting with a BOM read '\uFEFF1'.
        var table = Parse("a,b\n1,2\n   \n\t\n3,4\n");
        Assert.Equal([1f, 3f], table.Numbers("a"));
        var headerless = Parse("\uFEFF1,2\n3,4\n", new CsvReadOptions { HasHeader = false });
        Assert.Equal([1f, 3f], headerless.Numbers(0));
        Assert.Equal(["a", "b"], Parse("\uFEFFa,b\n1,2\n").Columns);

        // A tab-separated row of empty fields is not blank: it has missing values.
        var tabs = Parse("a\tb\n1\t2\n\t\n", new CsvReadOptions { Separator = '\t', Missing = MissingValues.AsNaN });
        Assert.Equal(2, tabs.RowCount);
        Assert.True(float.IsNaN(tabs.Numbers("a")[1]));
    }

    [Fact]
    public void AColumnIndexOutOfRangeIsAnArgumentError()
    {
        var table = Parse("a,b\n1,2\n");
        Assert.Equal("column", Assert.Throws<ArgumentOutOfRangeException>(() => table.Numbers(2)).ParamName);
        Assert.Equal("column", Assert.Throws<ArgumentOutOfRangeException>(() => table.Numbers(-1)).ParamName);
    }

    [Fact]
    public void MissingValuesAreRejectedOrReadAsNaNAsChosen()
    {
        const string text = "date,co2\n1958-03-29,316.1\n1958-04-05,\n";
        var error = Assert.Throws<CsvFormatException>(() => Parse(text, new CsvReadOptions { TextColumns = ["date"] }));
        Assert.Equal((3, 2), (error.Line, error.Column));
        Assert.Contains("line 3, column 2", error.Message);
        Assert.Contains("'co2' is empty", error.Message);

        var table = Parse(text, new CsvReadOptions { TextColumns = ["date"], Missing = MissingValues.AsNaN });
        Assert.True(float.IsNaN(table.Numbers("co2")[1]));
    }

    [Theory]
    [InlineData("a,b\n1,2\n3\n", 3, 0, "expected 2 fields")]
    [InlineData("a,b\n1,2\n3,x\n", 3, 2, "'b' is 'x', not a finite number")]
    [InlineData("a,b\n1,NaN\n", 2, 2, "not a finite number")]
    [InlineData("a,b\n1,1e39\n", 2, 2, "not a finite number")]
    [InlineData("a,b\n1,\"2\n", 2, 2, "quoted field is not closed")]
    [InlineData("a,a\n1,2\n", 1, 2, "appears twice")]
    [InlineData("", 1, 0, "the file is empty")]
    public void MalformedFilesNameTheLineAndColumn(string text, int line, int column, string message)
    {
        var error = Assert.Throws<CsvFormatException>(() => Parse(text));
        Assert.Equal((line, column), (error.Line, error.Column));
        Assert.Contains(message, error.Message);
        Assert.StartsWith("t.csv, line", error.Message);
    }

    [Fact]
    public void AskingForAnAbsentColumnNamesTheColumnsThere()
    {
        var table = Parse("a,b\n1,2\n");
        var error = Assert.Throws<ArgumentException>(() => table.Numbers("c"));
        Assert.Contains("columns: a, b", error.Message);
    }

    // 400 rows of distinct numbers: the compressed file has enough bytes to cut at several places.
    private static readonly string GzipText = "a,b\n" + string.Concat(Enumerable.Range(0, 400).Select(i => $"{i},{i * 0.731 + 0.123456}\n"));

    private static byte[] Gzip(string text)
    {
        var memory = new MemoryStream();
        using (var gzip = new GZipStream(memory, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return memory.ToArray();
    }

    private static string WriteTemp(byte[] bytes)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("csv-gz-").FullName, "t.csv.gz");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void GzipFilesAreReadWholeIncludingSeveralMembers()
    {
        var whole = Gzip(GzipText);
        string path = WriteTemp(whole);
        Assert.Equal(400, CsvTable.Read(path).RowCount);

        // cat a.gz b.gz is a valid gzip file holding both: the check of the last member must not refuse it.
        File.WriteAllBytes(path, [.. whole, .. Gzip("400,1.5\n401,2.5\n")]);
        var table = CsvTable.Read(path);
        Assert.Equal(402, table.RowCount);
        Assert.Equal(2.5f, table.Numbers("b")[401]);
        Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
    }

    [Fact]
    public void TruncatedGzipFilesAreRefusedNotReadShort()
    {
        // GZipStream stops quietly when a file ends inside its data (these cuts used to read as fewer rows, the last
        // value possibly cut mid-number); every cut, trailer or data, must be an error naming the file.
        var whole = Gzip(GzipText);
        string path = WriteTemp(whole);
        foreach (int cut in new[] { 1, 4, 8, 9, whole.Length / 3, whole.Length / 2, whole.Length - 12 })
        {
            File.WriteAllBytes(path, whole[..^cut]);
            var error = Assert.Throws<CsvFormatException>(() => CsvTable.Read(path));
            Assert.StartsWith("t.csv.gz, line ", error.Message);
            Assert.Contains("the .gz file is truncated or damaged", error.Message);
        }

        Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
    }

    [Fact]
    public void AGzFileThatIsNotGzipIsACsvFormatError()
    {
        string path = WriteTemp(Encoding.UTF8.GetBytes(GzipText));
        var error = Assert.Throws<CsvFormatException>(() => CsvTable.Read(path));
        Assert.StartsWith("t.csv.gz, line 1: the .gz file is truncated or damaged", error.Message);

        // A damaged CRC-32 in the trailer: zlib's own check throws, which is reported the same way.
        var damaged = Gzip(GzipText);
        damaged[^6] ^= 0x55;
        File.WriteAllBytes(path, damaged);
        Assert.Contains("truncated or damaged", Assert.Throws<CsvFormatException>(() => CsvTable.Read(path)).Message);
        Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
    }
}
