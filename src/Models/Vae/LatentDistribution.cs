using Dsoup.Engine.Random;
using Dsoup.Engine.Tensors;

namespace Dsoup.Models.Vae;

/// <summary>
/// diffusers' DiagonalGaussianDistribution of a VAE encoding, on the host: the mean and the log-variance
/// clamped to [−30, 20]; a sample is mean + exp(logvar / 2)·ε with ε one draw of the latent's size.
/// </summary>
public sealed class LatentDistribution
{
    public LatentDistribution(float[] mean, float[] logVariance, Shape shape)
    {
        Mean = mean;
        LogVariance = logVariance.Select(v => Math.Clamp(v, -30f, 20f)).ToArray();
        Shape = shape;
    }

    public float[] Mean { get; }

    public float[] LogVariance { get; }

    public Shape Shape { get; }

    /// <summary>The distribution's mode (its mean), as diffusers' <c>.mode()</c>.</summary>
    public float[] Mode() => Mean;

    public float[] Sample(INoiseGenerator noise)
    {
        var epsilon = new float[Mean.Length];
        noise.Normal(epsilon);
        var sample = new float[Mean.Length];
        for (int i = 0; i < sample.Length; i++)
        {
            sample[i] = Mean[i] + MathF.Exp(0.5f * LogVariance[i]) * epsilon[i];
        }
        return sample;
    }
}
