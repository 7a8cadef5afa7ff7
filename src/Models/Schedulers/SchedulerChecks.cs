namespace Dsoup.Models.Schedulers;

internal static class SchedulerChecks
{
    public static void Steps(int steps, int train)
    {
        if (steps < 1 || steps > train)
        {
            throw new ArgumentOutOfRangeException(nameof(steps), $"--steps must be between 1 and {train} (the model's training timesteps); got {steps}");
        }
    }
}
