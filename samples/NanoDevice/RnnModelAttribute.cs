// nanoFramework projects cannot reference the Embedded.Rnn runtime (it targets net10), so they declare the
// attribute the generator looks for themselves. It must be exactly this: namespace Embedded.Rnn, name
// RnnModelAttribute (the generator matches the metadata name), one string argument, the spec's path.
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
