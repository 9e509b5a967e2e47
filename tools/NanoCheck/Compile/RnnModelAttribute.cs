// A nanoFramework project cannot reference the Embedded.Rnn runtime (net10), so it declares the attribute the
// generator looks for (matched by its metadata name, Embedded.Rnn.RnnModelAttribute) itself.
namespace Embedded.Rnn
{
    [System.AttributeUsage(System.AttributeTargets.Class)]
    public sealed class RnnModelAttribute : System.Attribute
    {
        public RnnModelAttribute(string specPath)
        {
        }
    }
}
