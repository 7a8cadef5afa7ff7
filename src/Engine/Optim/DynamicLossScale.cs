namespace Dsoup.Engine.Optim;

/// <summary>
/// Dynamic loss scaling for f16 training, with torch.cuda.amp.GradScaler's defaults: the scale halves
/// after a step whose gradients overflowed (that step is skipped) and doubles after a run of good steps.
/// </summary>
public sealed class DynamicLossScale(float initialScale = 65536f, float growthFactor = 2f, float backoffFactor = 0.5f, int growthInterval = 2000)
{
    private int goodSteps;

    public float Scale { get; private set; } = initialScale;

    /// <summary>Records the outcome of a step: <paramref name="applied"/> is false when it overflowed and was skipped.</summary>
    public void Update(bool applied)
    {
        if (!applied)
        {
            Scale *= backoffFactor;
            goodSteps = 0;
            return;
        }
        if (++goodSteps == growthInterval)
        {
            Scale *= growthFactor;
            goodSteps = 0;
        }
    }
}
