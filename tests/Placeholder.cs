namespace Embedded.Rnn.Tests; public class Placeholder { [Xunit.Fact] public void Ok() { } }
