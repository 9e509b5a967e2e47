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
}
