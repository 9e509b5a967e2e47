using System.Linq;
using Microsoft.CodeAnalysis;

namespace Embedded.Rnn.Generator.Model;

/// <summary>A diagnostic to report, as equatable values: the descriptor id, where, and the message arguments.</summary>
internal sealed record DiagnosticInfo(string Id, LocationInfo? Location, EquatableArray<string> Arguments)
{
    public Diagnostic ToDiagnostic() =>
        Diagnostic.Create(Diagnostics.DiagnosticDescriptors.ById(Id), Location?.ToLocation(), Arguments.Cast<object>().ToArray());
}
