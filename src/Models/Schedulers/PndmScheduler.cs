using Dsoup.Engine.Random;

namespace Dsoup.Models.Schedulers;

/// <summary>
/// PNDM with its Runge–Kutta warm-up skipped (PLMS, SD 1.x's default) as diffusers' PNDMScheduler: the
/// second timestep is repeated, the first two model outputs averaged, then linear multistep over up to
/// four earlier outputs.
/// </summary>
public sealed class PndmScheduler(SchedulerConfig config) : IScheduler
{
    private readonly NoiseSchedule schedule = new(config);
    private readonly List<float[]> outputs = [];
    private int[] timesteps = [];
    private int ratio;
    private int counter;
    private float[]? firstSample;

    public string Name => "pndm";

    public IReadOnlyList<float> Timesteps => timesteps.Select(t => (float)t).ToArray();

    public float InitNoiseSigma => 1f;

    public void SetTimesteps(int steps)
    {
        SchedulerChecks.Steps(steps, config.TrainTimesteps);
        ratio = config.TrainTimesteps / steps;
        int[] ascending = TimestepSchedules.Spaced(config.Spacing ?? TimestepSpacing.Leading, steps, config.TrainTimesteps, config.StepsOffset)
            .Select(t => (int)Math.Round(t)).Reverse().ToArray();
        // [t_0, …, t_{n−2}, t_{n−2}, t_{n−1}] in ascending order, then reversed: the second step repeats.
        timesteps = ascending[..^1].Append(ascending[^Math.Min(2, ascending.Length)]).Append(ascending[^1]).Reverse().ToArray();
        if (steps == 1)
        {
            timesteps = [ascending[0]];
        }
        outputs.Clear();
        counter = 0;
        firstSample = null;
    }

    public float[] ScaleModelInput(float[] sample, int step) => sample;

    public float[] Step(float[] modelOutput, int step, float[] sample, INoiseGenerator noise)
    {
        int t = timesteps[step], previous = t - ratio;
        if (counter != 1)
        {
            if (outputs.Count > 3)
            {
                outputs.RemoveAt(0);
            }
            outputs.Add(modelOutput);
        }
        else
        {
            previous = t;
            t += ratio;
        }
        int n = sample.Length;
        var combined = new float[n];
        for (int i = 0; i < n; i++)
        {
            float e1 = outputs[^1][i];
            combined[i] = outputs.Count switch
            {
                1 when counter == 0 => modelOutput[i],
                1 => (modelOutput[i] + e1) / 2,
                2 => (3 * e1 - outputs[^2][i]) / 2,
                3 => (23 * e1 - 16 * outputs[^2][i] + 5 * outputs[^3][i]) / 12,
                _ => (1f / 24) * (55 * e1 - 59 * outputs[^2][i] + 37 * outputs[^3][i] - 9 * outputs[^4][i]),
            };
        }
        if (outputs.Count == 1 && counter == 0)
        {
            firstSample = sample;
        }
        else if (outputs.Count == 1 && counter == 1)
        {
            sample = firstSample!;
            firstSample = null;
        }
        counter++;
        return PreviousSample(sample, t, previous, combined);
    }

    private float[] PreviousSample(float[] sample, int t, int previous, float[] epsilon)
    {
        float alpha = schedule.AlphasCumprod[t];
        float alphaPrevious = previous >= 0 ? schedule.AlphasCumprod[previous] : config.SetAlphaToOne ? 1f : schedule.AlphasCumprod[0];
        float beta = 1 - alpha, betaPrevious = 1 - alphaPrevious;
        float sampleCoefficient = MathF.Sqrt(alphaPrevious / alpha);
        float denominator = alpha * MathF.Sqrt(betaPrevious) + MathF.Sqrt(alpha * beta * alphaPrevious);
        float sqrtAlpha = MathF.Sqrt(alpha), sqrtBeta = MathF.Sqrt(beta);
        var result = new float[sample.Length];
        for (int i = 0; i < sample.Length; i++)
        {
            float e = config.Prediction == PredictionType.VPrediction ? sqrtAlpha * epsilon[i] + sqrtBeta * sample[i] : epsilon[i];
            result[i] = sampleCoefficient * sample[i] - (alphaPrevious - alpha) * e / denominator;
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
