using Dsoup.Engine.Random;

namespace Dsoup.Models.Schedulers;

/// <summary>
/// DDIM (Song et al., 2020) as diffusers' DDIMScheduler: x0 and ε from the model output, then
/// x_prev = √ᾱ_prev·x0 + √(1 − ᾱ_prev − σ²)·ε (+ σ·z when η > 0), with prev = t − N/n.
/// </summary>
public sealed class DdimScheduler(SchedulerConfig config, float eta = 0f) : IScheduler
{
    private readonly NoiseSchedule schedule = new(config);
    private int[] timesteps = [];
    private int ratio;

    public string Name => "ddim";

    public IReadOnlyList<float> Timesteps => timesteps.Select(t => (float)t).ToArray();

    public float InitNoiseSigma => 1f;

    public void SetTimesteps(int steps)
    {
        SchedulerChecks.Steps(steps, config.TrainTimesteps);
        ratio = config.TrainTimesteps / steps;
        timesteps = TimestepSchedules.Spaced(config.Spacing ?? TimestepSpacing.Leading, steps, config.TrainTimesteps, config.StepsOffset)
            .Select(t => (int)Math.Round(t)).ToArray();
    }

    public float[] ScaleModelInput(float[] sample, int step) => sample;

    public float[] Step(float[] modelOutput, int step, float[] sample, INoiseGenerator noise)
    {
        int t = timesteps[step], previous = t - ratio;
        float alpha = schedule.AlphasCumprod[t];
        float alphaPrevious = previous >= 0 ? schedule.AlphasCumprod[previous] : config.SetAlphaToOne ? 1f : schedule.AlphasCumprod[0];
        float beta = 1 - alpha, betaPrevious = 1 - alphaPrevious;
        float sqrtAlpha = MathF.Sqrt(alpha), sqrtBeta = MathF.Sqrt(beta);
        float std = eta * MathF.Sqrt(betaPrevious / beta * (1 - alpha / alphaPrevious));
        float direction = MathF.Sqrt(1 - alphaPrevious - std * std), sqrtAlphaPrevious = MathF.Sqrt(alphaPrevious);
        var result = new float[sample.Length];
        for (int i = 0; i < sample.Length; i++)
        {
            float x = sample[i], m = modelOutput[i];
            (float original, float epsilon) = config.Prediction == PredictionType.Epsilon
                ? ((x - sqrtBeta * m) / sqrtAlpha, m)
                : (sqrtAlpha * x - sqrtBeta * m, sqrtAlpha * m + sqrtBeta * x);
            if (config.ClipSample)
            {
                original = Math.Clamp(original, -1f, 1f);
            }
            result[i] = sqrtAlphaPrevious * original + direction * epsilon;
        }
        if (eta > 0)
        {
            var z = new float[sample.Length];
            noise.Normal(z);
            for (int i = 0; i < result.Length; i++)
            {
                result[i] += std * z[i];
            }
        }
        return result;
    }

    public float[] AddNoise(float[] original, float[] noise, int step)
    {
        var result = new float[original.Length];
        schedule.AddNoise(original, noise, timesteps[step], result);
        return result;
    }
}
