namespace Dsoup.Engine.Optim;

/// <summary>diffusers' learning-rate schedules (get_scheduler): the factor on the base rate at a step.</summary>
public enum LearningRateSchedule
{
    Constant,
    ConstantWithWarmup,
    Linear,
    Cosine,
}

public static class LearningRateSchedules
{
    /// <summary>
    /// The multiplier at <paramref name="step"/> (0-based, before the update), with a linear warm-up over
    /// <paramref name="warmupSteps"/> for every schedule but Constant; Linear decays to 0 and Cosine follows
    /// half a cosine period to 0 at <paramref name="totalSteps"/>.
    /// </summary>
    public static double Factor(LearningRateSchedule schedule, int step, int warmupSteps, int totalSteps)
    {
        if (schedule == LearningRateSchedule.Constant)
        {
            return 1.0;
        }
        if (step < warmupSteps)
        {
            return (double)step / Math.Max(1, warmupSteps);
        }
        double progress = (double)(step - warmupSteps) / Math.Max(1, totalSteps - warmupSteps);
        return schedule switch
        {
            LearningRateSchedule.ConstantWithWarmup => 1.0,
            LearningRateSchedule.Linear => Math.Max(0.0, (double)(totalSteps - step) / Math.Max(1, totalSteps - warmupSteps)),
            LearningRateSchedule.Cosine => Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * progress))),
            _ => throw new ArgumentOutOfRangeException(nameof(schedule), schedule, "unknown schedule"),
        };
    }

    public static LearningRateSchedule Parse(string text) => text.Trim().ToLowerInvariant().Replace('-', '_') switch
    {
        "constant" => LearningRateSchedule.Constant,
        "constant_with_warmup" => LearningRateSchedule.ConstantWithWarmup,
        "linear" => LearningRateSchedule.Linear,
        "cosine" => LearningRateSchedule.Cosine,
        _ => throw new ArgumentException($"unknown learning-rate schedule '{text}': expected constant, constant_with_warmup, linear or cosine"),
    };
}
