using Dsoup.Engine.Random;

namespace Dsoup.Models.Schedulers;

/// <summary>
/// DPM-Solver++(2M) with the midpoint rule (Lu et al., 2022) as diffusers' DPMSolverMultistepScheduler with its
/// defaults: data prediction D from the model output, a first-order step first and last (final σ 0), second
/// order between, from the previous step's D; optionally on Karras σ.
/// </summary>
public sealed class DpmSolverScheduler(SchedulerConfig config) : IScheduler
{
    private readonly NoiseSchedule schedule = new(config);
    private float[] timesteps = [];
    private float[] sigmas = [];
    private float[]? previousData;
    private int history;

    public string Name => "dpm++2m";

    public IReadOnlyList<float> Timesteps => timesteps;

    public float InitNoiseSigma => 1f;

    public void SetTimesteps(int steps)
    {
        SchedulerChecks.Steps(steps, config.TrainTimesteps);
        double[] spaced = TimestepSchedules.SpacedForDpm(config.Spacing ?? TimestepSpacing.Linspace, steps, config.TrainTimesteps, config.StepsOffset);
        double[] levels;
        if (config.KarrasSigmas)
        {
            levels = TimestepSchedules.Karras(schedule.Sigmas[0], schedule.Sigmas[^1], steps);
            spaced = levels.Select(s => Math.Round(TimestepSchedules.SigmaToTimestep(s, schedule.Sigmas))).ToArray();
        }
        else
        {
            levels = TimestepSchedules.Interpolate(spaced, schedule.Sigmas);
        }
        timesteps = spaced.Select(t => (float)t).ToArray();
        sigmas = levels.Select(s => (float)s).Append(0f).ToArray();
        previousData = null;
        history = 0;
    }

    public float[] ScaleModelInput(float[] sample, int step) => sample;

    public float[] Step(float[] modelOutput, int step, float[] sample, INoiseGenerator noise)
    {
        (float alphaS, float sigmaS) = AlphaSigma(sigmas[step]);
        (float alphaT, float sigmaT) = AlphaSigma(sigmas[step + 1]);
        var data = new float[sample.Length];
        for (int i = 0; i < sample.Length; i++)
        {
            data[i] = config.Prediction == PredictionType.Epsilon
                ? (sample[i] - sigmaS * modelOutput[i]) / alphaS
                : alphaS * sample[i] - sigmaS * modelOutput[i];
        }
        float lambdaT = MathF.Log(alphaT) - MathF.Log(sigmaT), lambdaS = MathF.Log(alphaS) - MathF.Log(sigmaS);
        float h = lambdaT - lambdaS;
        float sampleCoefficient = sigmaT / sigmaS, dataCoefficient = alphaT * (MathF.Exp(-h) - 1f);
        bool lastStep = step == timesteps.Length - 1;
        var result = new float[sample.Length];
        if (history < 1 || lastStep)
        {
            for (int i = 0; i < sample.Length; i++)
            {
                result[i] = sampleCoefficient * sample[i] - dataCoefficient * data[i];
            }
        }
        else
        {
            (float alphaPrevious, float sigmaPrevious) = AlphaSigma(sigmas[step - 1]);
            float lambdaPrevious = MathF.Log(alphaPrevious) - MathF.Log(sigmaPrevious);
            float r = (lambdaS - lambdaPrevious) / h, inverseR = 1f / r, halfCoefficient = 0.5f * dataCoefficient;
            for (int i = 0; i < sample.Length; i++)
            {
                float d1 = inverseR * (data[i] - previousData![i]);
                result[i] = sampleCoefficient * sample[i] - dataCoefficient * data[i] - halfCoefficient * d1;
            }
        }
        previousData = data;
        history = Math.Min(history + 1, 2);
        return result;
    }

    public float[] AddNoise(float[] original, float[] noise, int step)
    {
        (float alpha, float sigma) = AlphaSigma(sigmas[step]);
        return original.Select((x, i) => alpha * x + sigma * noise[i]).ToArray();
    }

    /// <summary>α = 1/√(σ² + 1) and σ·α: the variance-preserving scale and noise level of a σ.</summary>
    private static (float Alpha, float Sigma) AlphaSigma(float sigma)
    {
        float alpha = 1f / MathF.Sqrt(sigma * sigma + 1);
        return (alpha, sigma * alpha);
    }
}
