namespace Embedded.Rnn;

/// <summary>
/// Binds a <c>partial class</c> to a recurrent-network spec file. The Embedded.Rnn source generator reads
/// the spec (a JSON file included as an <c>AdditionalFiles</c> item) and emits the model into the class.
/// </summary>
[System.AttributeUsage(System.AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class RnnModelAttribute : System.Attribute
{
    /// <summary>Binds the class to the spec at <paramref name="specPath"/>.</summary>
    /// <param name="specPath">Path of the spec file, relative to the project (matched against AdditionalFiles).</param>
    public RnnModelAttribute(string specPath) => SpecPath = specPath;

    /// <summary>Path of the spec file as written in the attribute.</summary>
    public string SpecPath { get; }
}
