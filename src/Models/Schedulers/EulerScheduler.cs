using Dsoup.Engine.Random;

namespace Dsoup.Models.Schedulers;

/// <summary>
/// Euler and Euler ancestral in σ space (Karras et al., 2022; k-diffusion) as diffusers' EulerDiscreteScheduler
/// and EulerAncestralDiscreteScheduler: σ interpolated linearly over the training σ at the spaced timesteps
/// (or Karras σ, for Euler), a final σ of 0, model input x/√(σ² + 1). The ancestral step splits the move to
/// the next σ into a deterministic part to σ_down and fresh noise of σ_up.
/// </summary>
public sealed class EulerScheduler : IScheduler
{
    private readonly SchedulerConfig config;
    private readonly NoiseSchedule schedule;
    private readonly bool ancestral;
    private float[] timesteps = [];
    private float[] sigmas = [];

    public EulerScheduler(SchedulerConfig config, bool ancestral)
    {
        if (ancestral && config.KarrasSigmas)
        {
            throw new NotSupportedException("Karras sigmas are not available with euler_a (diffusers has none for it); use euler or dpm++2m");
        }
        this.config = config;
        this.ancestral = ancestral;
        schedule = new NoiseSchedule(config);
    }

    public string Name => ancestral ? "euler_a" : "euler";

    public IReadOnlyList<float> Timesteps => timesteps;

    public float InitNoiseSigma { get; private set; } = 1f;

    public void SetTimesteps(int steps)
    {
        SchedulerChecks.Steps(steps, config.TrainTimesteps);
        TimestepSpacing spacing = config.Spacing ?? TimestepSpacing.Linspace;
        double[] spaced = TimestepSchedules.Spaced(spacing, steps, config.TrainTimesteps, config.StepsOffset)
            .Select(t => (double)(float)t).ToArray();
        double[] levels = TimestepSchedules.Interpolate(spaced, schedule.Sigmas);
        if (config.KarrasSigmas)
        {
            levels = TimestepSchedules.Karras(levels[^1], levels[0], steps);
            spaced = levels.Select(s => TimestepSchedules.SigmaToTimestep(s, schedule.Sigmas)).ToArray();
        }
        timesteps = spaced.Select(t => (float)t).ToArray();
        sigmas = levels.Select(s => (float)s).Append(0f).ToArray();
        float maxSigma = sigmas.Max();
        InitNoiseSigma = spacing is TimestepSpacing.Linspace or TimestepSpacing.Trailing ? maxSigma : MathF.Sqrt(maxSigma * maxSigma + 1);
    }

    public float[] ScaleModelInput(float[] sample, int step)
    {
        float sigma = sigmas[step], scale = MathF.Sqrt(sigma * sigma + 1);
        return sample.Select(x => x / scale).ToArray();
    }

    public float[] Step(float[] modelOutput, int step, float[] sample, INoiseGenerator noise)
    {
        float sigma = sigmas[step], next = sigmas[step + 1];
        float cOut = -sigma / MathF.Sqrt(sigma * sigma + 1), cSkip = sigma * sigma + 1;
        float target = next, up = 0f;
        if (ancestral)
        {
            up = MathF.Sqrt(next * next * (sigma * sigma - next * next) / (sigma * sigma));
            target = MathF.Sqrt(next * next - up * up);
        }
        float dt = target - sigma;
        var result = new float[sample.Length];
        for (int i = 0; i < sample.Length; i++)
        {
            float x = sample[i], m = modelOutput[i];
            float original = config.Prediction == PredictionType.Epsilon ? x - sigma * m : m * cOut + x / cSkip;
            float derivative = (x - original) / sigma;
            result[i] = x + derivative * dt;
        }
        if (ancestral)
        {
            var z = new float[sample.Length];
            noise.Normal(z);
            for (int i = 0; i < result.Length; i++)
            {
                result[i] += z[i] * up;
            }
        }
        return result;
    }

    public float[] AddNoise(float[] original, float[] noise, int step)
    {
        float sigma = sigmas[step];
        return original.Select((x, i) => x + noise[i] * sigma).ToArray();
    }
}
