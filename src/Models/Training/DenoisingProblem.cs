using Dsoup.Models.Schedulers;
using Dsoup.Models.Vae;

namespace Dsoup.Models.Training;

/// <summary>
/// One sample of the training objective: x0 = (mean + σ·ε′)·scaling drawn from an image's latent distribution,
/// a uniform timestep t, noise ε (plus offset noise per channel), the model's input x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε,
/// and its target (ε, or v for v-prediction). Every draw comes from <see cref="StepDraws"/> by sample number.
/// </summary>
internal readonly record struct DenoisingProblem(float[] Noisy, float[] Target, int Timestep)
{
    public static DenoisingProblem Draw(LatentDistribution latent, StepDraws draws, long sample, NoiseSchedule schedule,
        SchedulerConfig scheduler, float scaling, float noiseOffset)
    {
        int count = latent.Mean.Length, plane = count / latent.Shape[1];
        float[] epsilon = draws.LatentNoise(sample), noise = draws.Noise(sample);
        var x0 = new float[count];
        for (int i = 0; i < count; i++)
        {
            x0[i] = (latent.Mean[i] + MathF.Exp(0.5f * latent.LogVariance[i]) * epsilon[i]) * scaling;
        }
        if (noiseOffset > 0)
        {
            float[] offset = draws.ChannelNoise(sample);
            for (int i = 0; i < count; i++)
            {
                noise[i] += noiseOffset * offset[i / plane];
            }
        }
        int t = draws.Timestep(sample, scheduler.TrainTimesteps);
        var noisy = new float[count];
        schedule.AddNoise(x0, noise, t, noisy);
        float[] target = noise;
        if (scheduler.Prediction == PredictionType.VPrediction)
        {
            target = new float[count];
            schedule.Velocity(x0, noise, t, target);
        }
        return new DenoisingProblem(noisy, target, t);
    }
}
