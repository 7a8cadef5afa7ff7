using System.Diagnostics;
using Dsoup.Engine;
using Dsoup.Engine.Random;
using Dsoup.Engine.Tensors;
using Dsoup.Models.Schedulers;
using Dsoup.Models.Text;

namespace Dsoup.Models.Pipelines;

/// <summary>
/// diffusers' StableDiffusionPipeline and its image-to-image variant on a <see cref="StableDiffusionModel"/>:
/// prompts through the text encoder (batch [uncond, cond] under guidance), latents drawn from one generator for
/// the whole batch times the sampler's initial σ (or the VAE's encoding of the start image, noised to the
/// strength's step), the sampler loop with m = m_u + g·(m_c − m_u), and the VAE decode of latents / scaling
/// factor to pixels (x/2 + 0.5 clamped to [0, 1]).
/// </summary>
public sealed class TextToImage(StableDiffusionModel model)
{
    /// <summary>Raised when a prompt is cut to 75 tokens: the text, and how many tokens it had.</summary>
    public event Action<string, int>? PromptTruncated;

    public GeneratedImages Generate(GenerationSettings settings, IProgress<SamplingProgress>? progress = null, CancellationToken cancel = default)
    {
        PromptTokens cond = Tokenize(settings.Prompt), uncond = Tokenize(settings.NegativePrompt);
        return Generate(cond.Ids, uncond.Ids, settings, progress, cancel);
    }

    /// <summary>Sampling from token ids (each <see cref="ClipTokenizer.ContextLength"/> long) instead of text.</summary>
    public GeneratedImages Generate(int[] condIds, int[] uncondIds, GenerationSettings settings,
        IProgress<SamplingProgress>? progress = null, CancellationToken cancel = default)
    {
        settings.Validate();
        var clock = Stopwatch.StartNew();
        int batch = settings.Batch, factor = 1 << (model.Vae.Config.BlockOutChannels.Length - 1);
        int multiple = factor << (model.Unet.Config.Levels - 1);
        if (settings.Width % multiple != 0 || settings.Height % multiple != 0)
        {
            throw new ArgumentException($"the image size {settings.Width}×{settings.Height} must be a multiple of {multiple} for this model's UNet (-W, -H)");
        }
        int height = settings.Height / factor, width = settings.Width / factor, latentChannels = model.Vae.Config.LatentChannels;
        bool guided = settings.CfgScale > 1f;
        IScheduler scheduler = Samplers.Create(settings.Sampler ?? Samplers.ForClass(model.Scheduler.ClassName ?? "EulerAncestralDiscreteScheduler"),
            model.Scheduler with { KarrasSigmas = settings.Karras || model.Scheduler.KarrasSigmas });
        scheduler.SetTimesteps(settings.Steps);
        INoiseGenerator noise = NoiseGenerators.Create(settings.Rng, settings.Seed);

        using Tensor context = EncodePrompts(condIds, guided ? uncondIds : null, batch);
        double textSeconds = clock.Elapsed.TotalSeconds;
        int latentCount = batch * latentChannels * height * width;
        float[] latents;
        int first = 0;
        if (settings.InitImage is float[] image)
        {
            (latents, first) = NoisedStart(image, settings, scheduler, noise, batch, latentCount);
        }
        else
        {
            latents = new float[latentCount];
            noise.Normal(latents);
            for (int i = 0; i < latents.Length; i++)
            {
                latents[i] *= scheduler.InitNoiseSigma;
            }
        }

        int total = scheduler.Timesteps.Count;
        var stepSeconds = new List<double>();
        for (int step = first; step < total; step++)
        {
            cancel.ThrowIfCancellationRequested();
            double stepStart = clock.Elapsed.TotalSeconds;
            float[] prediction = Predict(scheduler, step, latents, context, guided, settings.CfgScale, new Shape(batch, latentChannels, height, width));
            latents = scheduler.Step(prediction, step, latents, noise);
            stepSeconds.Add(clock.Elapsed.TotalSeconds - stepStart);
            progress?.Report(new SamplingProgress(step - first + 1, total - first, clock.Elapsed));
        }
        double decodeStart = clock.Elapsed.TotalSeconds;
        float[] pixels = Decode(latents, new Shape(batch, latentChannels, height, width));
        var timings = new SamplingTimings(textSeconds, stepSeconds, clock.Elapsed.TotalSeconds - decodeStart);
        return new GeneratedImages(pixels, batch, settings.Width, settings.Height, scheduler.Name, timings);
    }

    private PromptTokens Tokenize(string text)
    {
        PromptTokens tokens = model.Tokenizer.Encode(text, model.PadToken);
        if (tokens.Truncated)
        {
            PromptTruncated?.Invoke(text, tokens.ContentTokens);
        }
        return tokens;
    }

    /// <summary>The text encoder's states for [uncond × batch, cond × batch] (or cond × batch without guidance), kept past the steps.</summary>
    private Tensor EncodePrompts(int[] condIds, int[]? uncondIds, int batch)
    {
        using var scope = model.Device.BeginStep();
        Tensor cond = Ops.Repeat(model.TextEncoder.Forward(condIds, 1).Reshape(ClipTokenizer.ContextLength, -1), 0, batch);
        if (uncondIds is null)
        {
            return cond.Persist();
        }
        Tensor uncond = Ops.Repeat(model.TextEncoder.Forward(uncondIds, 1).Reshape(ClipTokenizer.ContextLength, -1), 0, batch);
        return Ops.Concat([uncond, cond], 0).Persist();
    }

    /// <summary>One UNet evaluation and guidance: m_u + g·(m_c − m_u) in f32.</summary>
    private float[] Predict(IScheduler scheduler, int step, float[] latents, Tensor context, bool guided, float scale, Shape shape)
    {
        float[] input = scheduler.ScaleModelInput(latents, step);
        int copies = guided ? 2 : 1, n = input.Length;
        var batchInput = new float[n * copies];
        for (int c = 0; c < copies; c++)
        {
            input.CopyTo(batchInput, c * n);
        }
        float t = scheduler.Timesteps[step];
        float[] output;
        using (var scope = model.Device.BeginStep())
        {
            using Tensor x = Tensor.FromArray(batchInput, new Shape([copies * shape[0], .. shape.Dims[1..]]), model.DType, model.Device);
            output = model.Unet.Forward(x, Enumerable.Repeat(t, copies * shape[0]).ToArray(), context).ToArray();
        }
        if (!guided)
        {
            return output;
        }
        var guidedOutput = new float[n];
        for (int i = 0; i < n; i++)
        {
            float u = output[i], c = output[n + i];
            guidedOutput[i] = u + scale * (c - u);
        }
        return guidedOutput;
    }

    /// <summary>Image-to-image's start: the start image's latent (a VAE sample, scaled), noised to the step the strength leaves.</summary>
    private (float[] Latents, int FirstStep) NoisedStart(float[] image, GenerationSettings settings, IScheduler scheduler, INoiseGenerator noise,
        int batch, int latentCount)
    {
        int steps = settings.Steps;
        int kept = Math.Min((int)(steps * (double)settings.Strength), steps);
        int first = Math.Max(steps - kept, 0);
        if (first >= scheduler.Timesteps.Count)
        {
            throw new ArgumentException($"--strength {settings.Strength} with {steps} steps leaves no step to run; raise either");
        }
        float[] encoded;
        float scaling = model.Vae.Config.ScalingFactor;
        using (var scope = model.Device.BeginStep())
        {
            using Tensor pixels = Tensor.FromArray(image.Select(v => 2 * v - 1).ToArray(), new Shape(1, 3, settings.Height, settings.Width), model.DType, model.Device);
            encoded = model.Vae.Encode(pixels).Sample(noise).Select(v => v * scaling).ToArray();
        }
        var start = new float[latentCount];
        for (int b = 0; b < batch; b++)
        {
            encoded.CopyTo(start, b * encoded.Length);
        }
        var fresh = new float[latentCount];
        noise.Normal(fresh);
        return (scheduler.AddNoise(start, fresh, first), first);
    }

    private float[] Decode(float[] latents, Shape shape)
    {
        float scaling = model.Vae.Config.ScalingFactor;
        using var scope = model.Device.BeginStep();
        using Tensor x = Tensor.FromArray(latents.Select(v => v / scaling).ToArray(), shape, model.DType, model.Device);
        return model.Vae.Decode(x).ToArray().Select(v => Math.Clamp(v / 2 + 0.5f, 0f, 1f)).ToArray();
    }
}
