using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Embedded.Rnn.Generator.Layout;
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
                names.AddRange(new[] { "Step", "StepCore", "RunCore" });
            }

            if (spec.Head is not null)
            {
                names.Add("Head");
            }

            if (spec.Head?.Activation == HeadActivation.Softmax)
            {
                names.Add("Exp");
            }

            // A bf16 or int8 model's weight matrices in their stored type, and the rounding written for nanoFramework.
            switch (spec.Storage)
            {
                case WeightStorage.BFloat16:
                    names.AddRange(new[] { "_w", "ParameterColumns", "ToBFloat16", "SingleBits", "FromBFloat16" });
                    break;
                case WeightStorage.Int8:
                    names.AddRange(new[] { "_w", "_scales", "ParameterColumns", "ToInt8", "RoundToInt8" });
                    break;
            }

            if (spec.HasBakedWeights)
            {
                names.Add("FromBakedWeights");
                var shapes = spec.Parameters().Select(p => p.Shape).ToList();
                for (int i = 0; i < spec.BakedWeights.Count; i++)
                {
                    string baked = "Baked" + i.ToString(CultureInfo.InvariantCulture);
                    names.Add(baked);
                    if (spec.Storage == WeightStorage.Int8 && shapes[i].Length == 2)
                    {
                        names.Add(baked + "Scales");
                    }
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
