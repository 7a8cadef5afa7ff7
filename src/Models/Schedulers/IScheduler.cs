using Dsoup.Engine.Random;

namespace Dsoup.Models.Schedulers;

/// <summary>
/// A sampler as diffusers' scheduler classes define it: pure arithmetic over the latents (host f32 arrays of the
/// whole batch), no tensors of its own. Call <see cref="SetTimesteps"/>, then for each step i: run the model on
/// <see cref="ScaleModelInput"/> at <see cref="Timesteps"/>[i] and pass its output to <see cref="Step"/>. Steps
/// must run in order (multistep samplers keep earlier outputs); image-to-image starts at a later step.
/// </summary>
public interface IScheduler
{
    /// <summary>The sampler's name as <c>--sampler</c> takes it.</summary>
    string Name { get; }

    /// <summary>The timestep the model sees at each step (fractional for Euler with Karras sigmas).</summary>
    IReadOnlyList<float> Timesteps { get; }

    /// <summary>The initial noise's standard deviation: latents are drawn as N(0, 1) times this.</summary>
    float InitNoiseSigma { get; }

    void SetTimesteps(int steps);

    /// <summary>The model's input at step <paramref name="step"/> (the sample itself where the sampler does not scale it).</summary>
    float[] ScaleModelInput(float[] sample, int step);

    /// <summary>The sample after step <paramref name="step"/>; ancestral samplers draw their noise from <paramref name="noise"/>.</summary>
    float[] Step(float[] modelOutput, int step, float[] sample, INoiseGenerator noise);

    /// <summary>The clean <paramref name="original"/> noised to the level of step <paramref name="step"/> (image-to-image's start).</summary>
    float[] AddNoise(float[] original, float[] noise, int step);
}
