using System.Collections.Generic;
using System.Globalization;
using Embedded.Rnn.Generator.Model;

namespace Embedded.Rnn.Generator.Emit;

/// <summary>
/// The names the generated code declares in the user's partial class, per spec: a member of the user's own part with one
/// of these names would clash (CS0102/CS0111) inside a generated file the user cannot open, so the parser reports ERNN017 at
/// the user's member instead. Explicit interface implementations and constructors are left out: they take no name.
/// GeneratorOutputTests compiles a grid of specs and checks that this is exactly what each generated part declares.
/// </summary>
internal static class GeneratedMembers
{
    private static readonly string[] Constants =
    {
        "CellKind", "InputSize", "HiddenSize", "LayerCount", "DirectionCount", "GateCount", "LayerOutputSize", "OutputSize", "HasHead",
    };

    /// <summary>The names the model's generated part of the class declares (ApiSurfaceEmitter, StateEmitter, or NanoEmitter).</summary>
    public static IReadOnlyList<string> Of(ModelSpec spec)
    {
        var names = new List<string>(Constants);
        if (spec.Target == TargetRuntime.NanoFramework)
        {
            names.AddRange(new[] { "ParameterCount", "ParameterNames", "ParameterLengths", "ParameterName", "ParameterLength", "StateOffset", "_p", "State", "CheckSteps", "Run", "CellStep", "Dot", "Sigmoid", "Tanh", "Rational", "Clamp" });
            if (!spec.Bidirectional)
            {
                names.AddRange(new[] { "Step", "StepCore" });
            }

            if (spec.Head is not null)
            {
                names.Add("Head");
            }

            if (spec.Head?.Activation == HeadActivation.Softmax)
            {
                names.Add("Exp");
            }

            if (spec.HasBakedWeights)
            {
                names.Add("FromBakedWeights");
                for (int i = 0; i < spec.BakedWeights.Count; i++)
                {
                    names.Add("Baked" + i.ToString(CultureInfo.InvariantCulture));
                }
            }

            return names;
        }

        names.AddRange(new[] { "Precision", "_weights", "Parameters", "Shape", "Path", "FromSafetensors", "FromParameters", "LoadParameters", "State", "Run" });
        names.Add(spec.Bidirectional ? "RunWorkspaceLength" : "Step");
        if (spec.HasBakedWeights)
        {
            names.Add("FromBakedWeights");
        }

        return names;
    }
}
