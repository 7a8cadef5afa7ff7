using Dsoup.Engine.Random;

namespace Dsoup.Models.Pipelines;

/// <summary>What to generate: the settings stable-diffusion.cpp and A1111 users know, with diffusers' meanings.</summary>
public sealed record GenerationSettings
{
    public string Prompt { get; init; } = "";

    public string NegativePrompt { get; init; } = "";

    public int Steps { get; init; } = 20;

    /// <summary>Classifier-free guidance scale; guidance is off at 1 or below.</summary>
    public float CfgScale { get; init; } = 7.5f;

    public ulong Seed { get; init; } = 42;

    /// <summary>ddim, euler, euler_a, dpm++2m or pndm; null: the model's own scheduler config decides.</summary>
    public string? Sampler { get; init; }

    /// <summary>Karras σ (euler, dpm++2m).</summary>
    public bool Karras { get; init; }

    public NoiseRng Rng { get; init; } = NoiseRng.Philox;

    public int Width { get; init; } = 512;

    public int Height { get; init; } = 512;

    /// <summary>Images per prompt, drawn from one generator as diffusers draws a batch.</summary>
    public int Batch { get; init; } = 1;

    /// <summary>Image-to-image: the start image, RGB [3, Height, Width] in [0, 1].</summary>
    public float[]? InitImage { get; init; }

    /// <summary>How much of the schedule image-to-image runs (1 = all, from pure noise).</summary>
    public float Strength { get; init; } = 0.75f;

    /// <summary>Throws, naming the flag, where a setting cannot be sampled (before any model is loaded).</summary>
    public void Validate()
    {
        if (Width <= 0 || Height <= 0 || Width % 8 != 0 || Height % 8 != 0)
        {
            throw new ArgumentException($"the image size {Width}×{Height} must be positive multiples of 8 (-W, -H)");
        }
        if (Steps < 1)
        {
            throw new ArgumentException($"--steps must be at least 1; got {Steps}");
        }
        if (Batch < 1)
        {
            throw new ArgumentException($"--batch must be at least 1; got {Batch}");
        }
        if (InitImage is not null && (Strength <= 0 || Strength > 1))
        {
            throw new ArgumentException($"--strength must be in (0, 1]; got {Strength}");
        }
        if (InitImage is float[] image && image.Length != 3 * Width * Height)
        {
            throw new ArgumentException($"the init image holds {image.Length} values; {Width}×{Height} RGB needs {3 * Width * Height}");
        }
    }
}

/// <summary>Progress of one sampling run, reported after every UNet step.</summary>
public readonly record struct SamplingProgress(int Step, int Steps, TimeSpan Elapsed);

/// <summary>Where a sampling run's time went, in seconds.</summary>
public sealed record SamplingTimings(double TextEncoder, IReadOnlyList<double> Steps, double Decode)
{
    /// <summary>The median UNet step (guidance included): the figure engines quote as s/it.</summary>
    public double MedianStep => Steps.Count == 0 ? 0 : Steps.Order().ElementAt(Steps.Count / 2);
}

/// <summary>The images of one run: RGB [Batch, 3, H, W] in [0, 1], the sampler that made them, and where the time went.</summary>
public sealed record GeneratedImages(float[] Pixels, int Batch, int Width, int Height, string Sampler, SamplingTimings Timings)
{
    /// <summary>Image <paramref name="index"/> as 8-bit RGB, rounded as diffusers' numpy_to_pil (round(x·255)).</summary>
    public byte[] Rgb8(int index)
    {
        int plane = Width * Height;
        var rgb = new byte[plane * 3];
        for (int p = 0; p < plane; p++)
        {
            for (int c = 0; c < 3; c++)
            {
                rgb[p * 3 + c] = (byte)MathF.Round(Pixels[(index * 3 + c) * plane + p] * 255f, MidpointRounding.ToEven);
            }
        }
        return rgb;
    }
}
