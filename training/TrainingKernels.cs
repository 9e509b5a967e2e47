namespace Embedded.Rnn.Training;

/// <summary>
/// What the trainer says of a model generated without training kernels: the generator emits them only for projects
/// that train (the EmbeddedRnnTraining MSBuild property, which this package sets), so a model declared in an
/// inference-only project cannot be trained. The trainer's overloads that take such a model are compile-time errors
/// with this message; called anyway (by reflection), they throw it.
/// </summary>
internal static class TrainingKernels
{
    public const string Missing =
        "This model was generated without training kernels: reference the Embedded.Rnn.Training package from the project " +
        "that declares the model, or set <EmbeddedRnnTraining>true</EmbeddedRnnTraining> in that project.";

    public static NotSupportedException MissingFrom(IGeneratedRnnModel? model) =>
        new($"{model?.GetType().Name ?? "The model"}: {Missing}");
}
