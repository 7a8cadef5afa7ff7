using Dsoup.Engine.Random;
using Dsoup.Kernels.Random;

namespace Dsoup.Models.Training;

/// <summary>
/// Every random choice of a run, drawn from Philox streams by (purpose, sample number) rather than from a
/// generator with a state: sample n of the run (step · batch + position) always gets the same image, timestep,
/// noise and dropout, so a run resumed from a checkpoint continues exactly as if it had never stopped.
/// </summary>
internal sealed class StepDraws(ulong seed, int latentCount, int latentChannels)
{
    private long orderEpoch = -1;
    private int[] order = [];

    private ulong Stream(ulong purpose) => (seed * 0x9E3779B97F4A7C15UL) ^ (purpose * 0xD1B54A32D192ED03UL);

    /// <summary>Dataset index of sample <paramref name="sample"/>: each epoch visits every example once, in its own shuffled order.</summary>
    public int ExampleIndex(long sample, int count)
    {
        long epoch = sample / count;
        if (epoch != orderEpoch || order.Length != count)
        {
            // Fisher–Yates with the epoch's stream.
            order = Enumerable.Range(0, count).ToArray();
            for (int i = count - 1; i > 0; i--)
            {
                PhiloxBlock block = Philox.Block(Stream(1) + (ulong)epoch, (ulong)i);
                int j = (int)((ulong)block.W0 * (ulong)(i + 1) >> 32);
                (order[i], order[j]) = (order[j], order[i]);
            }
            orderEpoch = epoch;
        }
        return order[(int)(sample % count)];
    }

    /// <summary>A uniform timestep in [0, train) for the sample.</summary>
    public int Timestep(long sample, int train) => (int)((ulong)Philox.Block(Stream(2), (ulong)sample).W0 * (ulong)train >> 32);

    public bool DropCaption(long sample, float probability) => probability > 0 && Philox.ToUnitFloat(Philox.Block(Stream(2), (ulong)sample).W1) < probability;

    public bool Flip(long sample) => (Philox.Block(Stream(2), (ulong)sample).W2 & 1) != 0;

    /// <summary>The diffusion noise ε of the sample.</summary>
    public float[] Noise(long sample) => Normals(3, sample, latentCount);

    /// <summary>The draw that samples the sample's latent from the VAE's distribution.</summary>
    public float[] LatentNoise(long sample) => Normals(4, sample, latentCount);

    /// <summary>Offset noise: one draw per channel of the sample.</summary>
    public float[] ChannelNoise(long sample) => Normals(5, sample, latentChannels);

    private float[] Normals(ulong purpose, long sample, int count)
    {
        var values = new float[count];
        NormalSampler.Fill(values, Stream(purpose), (ulong)sample * (ulong)count);
        return values;
    }
}
