namespace Embedded.Rnn.Training;

/// <summary>The learning rate of an epoch under each <see cref="LearningRateSchedule"/>.</summary>
internal static class LearningRateSchedules
{
    /// <exception cref="ArgumentOutOfRangeException">options.Schedule is not a defined <see cref="LearningRateSchedule"/>.</exception>
    public static float At(TrainingOptions options, int epoch) => options.Schedule switch
    {
        LearningRateSchedule.Constant => options.LearningRate,
        LearningRateSchedule.StepDecay => options.LearningRate * MathF.Pow(options.DecayFactor, epoch / options.DecayEvery),
        LearningRateSchedule.Cosine => options.LearningRate * 0.5f * (1f + MathF.Cos(MathF.PI * epoch / options.Epochs)),
        _ => throw new ArgumentOutOfRangeException(nameof(options), options.Schedule, "not a LearningRateSchedule this trainer knows."),
    };
}
