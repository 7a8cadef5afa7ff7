using System.Diagnostics;
using System.Globalization;
using Dsoup.Engine;
using Dsoup.Engine.Autograd;
using Dsoup.Engine.Optim;
using Dsoup.Engine.Tensors;
using Dsoup.Models.Conversion;
using Dsoup.Models.Data;
using Dsoup.Models.Pipelines;

namespace Dsoup.Models.Training;

/// <summary>What an autoencoder run does: steps, batch, learning rate, resolution, seed, and the latent regularisation.</summary>
public sealed record AutoencoderOptions
{
    public int Steps { get; init; } = 1000;

    public int BatchSize { get; init; } = 8;

    public float LearningRate { get; init; } = 1e-3f;

    public int Resolution { get; init; } = 64;

    public ulong Seed { get; init; }

    /// <summary>The posterior's fixed standard deviation σ₀ while training (the latent noise the decoder learns to ignore).</summary>
    public float PosteriorStd { get; init; } = 0.01f;

    /// <summary>β of the KL's mean term, β·mean(μ²), which keeps the latents bounded.</summary>
    public float LatentPenalty { get; init; } = 1e-5f;

    public void Validate()
    {
        if (Steps < 1 || BatchSize < 1 || LearningRate <= 0 || Resolution < 8 || Resolution % 8 != 0 || PosteriorStd <= 0 || LatentPenalty < 0)
        {
            throw new ArgumentException("autoencoder training needs --steps and --batch ≥ 1, a positive --lr, and --resolution a positive multiple of 8");
        }
    }
}

/// <summary>
/// Trains a model's VAE (AutoencoderKL) from scratch, so a small latent-diffusion model can be built with no
/// pretrained weights: a fixed-variance autoencoder — z = μ + σ₀·ε, loss = MSE(decode(z), x) + β·mean(μ²) —
/// whose log-variance head is then set to the constant log σ₀². At the end the latent space is rescaled exactly
/// (the mean head by k, post_quant_conv's input by 1/k) so that latents × the model's scaling factor have unit
/// standard deviation over the data, as diffusion training assumes. Only the VAE changes; the rest is copied.
/// </summary>
public sealed class AutoencoderTrainer(AutoencoderOptions options, ModelLoadOptions load)
{
    public TrainingResult Run(string basePath, IReadOnlyList<TrainingExample> examples, string runFolder, Action<string> warn,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        options.Validate();
        string modelPath = Path.Combine(runFolder, "model.safetensors");
        if (File.Exists(modelPath))
        {
            throw new IOException($"{runFolder} already holds a trained model; choose another -o");
        }
        List<float[]> images = LoadImages(examples, warn, out int skipped);
        Directory.CreateDirectory(runFolder);
        using StableDiffusionModel model = StableDiffusionModel.Load(basePath, load with { WithVaeEncoder = true });
        var parameters = model.VaeParameters.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Value).ToList();
        foreach (Tensor p in parameters)
        {
            p.RequiresGrad = true;
        }
        int latent = model.Vae.Config.LatentChannels, side = options.Resolution / 8, pixels = 3 * options.Resolution * options.Resolution;
        var draws = new StepDraws(options.Seed, latent * side * side, latent);
        string lossPath = Path.Combine(runFolder, "loss.csv");
        File.WriteAllText(lossPath, "step,loss,learning_rate\n");
        var clock = Stopwatch.StartNew();
        double lossSum = 0;
        float loss = float.NaN;
        using (var adam = new AdamW(parameters, options.LearningRate, weightDecay: 0))
        {
            for (int step = 0; step < options.Steps; step++)
            {
                cancel.ThrowIfCancellationRequested();
                var batch = new float[options.BatchSize * pixels];
                var noise = new float[options.BatchSize * latent * side * side];
                for (int j = 0; j < options.BatchSize; j++)
                {
                    long sample = (long)step * options.BatchSize + j;
                    images[draws.ExampleIndex(sample, images.Count)].CopyTo(batch, j * pixels);
                    draws.LatentNoise(sample).CopyTo(noise, j * noise.Length / options.BatchSize);
                }
                using (model.Device.BeginStep())
                {
                    loss = Backpropagate(model, batch, noise, latent, side);
                    adam.Step(maxGradNorm: 1f);
                    adam.ZeroGrad();
                }
                lossSum += loss;
                File.AppendAllText(lossPath, string.Create(CultureInfo.InvariantCulture, $"{step + 1},{loss:R},{options.LearningRate:R}\n"));
                progress?.Report(new TrainingProgress(step + 1, options.Steps, loss, (float)(lossSum / (step + 1)), options.LearningRate, clock.Elapsed, step + 1));
            }
        }
        foreach (Tensor p in parameters)
        {
            p.RequiresGrad = false;
        }
        Normalise(model, images, latent);
        var metadata = new Dictionary<string, string>(model.Checkpoint.Metadata)
        {
            ["dsoup.version"] = EngineVersion.Text,
            ["dsoup.train.vae"] = string.Create(CultureInfo.InvariantCulture,
                $"{options.Steps} steps, batch {options.BatchSize}, lr {options.LearningRate}, {options.Resolution} px, fixed posterior std {options.PosteriorStd}, latent penalty {options.LatentPenalty}, seed {options.Seed}"),
        };
        ModelExport.Write(model.Checkpoint, modelPath, name => model.VaeParameters.TryGetValue(name, out Tensor? p) ? p.ToArray() : null, metadata);
        return new TrainingResult(runFolder, modelPath, options.Steps, loss, skipped, 0);
    }

    private float Backpropagate(StableDiffusionModel model, float[] batch, float[] noise, int latent, int side)
    {
        var shape = new Shape(options.BatchSize, 3, options.Resolution, options.Resolution);
        using Tensor x = Tensor.FromArray(batch, shape, model.DType, model.Device);
        using Tensor epsilon = Tensor.FromArray(noise.Select(v => v * options.PosteriorStd).ToArray(), new Shape(options.BatchSize, latent, side, side), model.DType, model.Device);
        using Tensor zeros = Tensor.FromArray(new float[noise.Length], epsilon.Shape, model.DType, model.Device);
        using Tape tape = Tape.Start();
        Tensor mean = Ops.Narrow(model.Vae.EncodeMoments(x), 1, 0, latent);
        Tensor reconstruction = model.Vae.Decode(Ops.Add(mean, epsilon));
        Tensor loss = Ops.Add(Ops.MseLoss(reconstruction, x), Ops.Scale(Ops.MseLoss(mean, zeros), options.LatentPenalty));
        float value = loss.Item();
        tape.Backward(loss);
        return value;
    }

    /// <summary>Sets the log-variance head to log((kσ₀)²) and rescales the mean head by k so scaled latents have unit std; post_quant_conv undoes k.</summary>
    private void Normalise(StableDiffusionModel model, List<float[]> images, int latent)
    {
        double squares = 0;
        long count = 0;
        foreach (float[] image in images.Take(64))
        {
            using (model.Device.BeginStep())
            {
                using Tensor x = Tensor.FromArray(image, new Shape(1, 3, options.Resolution, options.Resolution), model.DType, model.Device);
                foreach (float m in model.Vae.Encode(x).Mean)
                {
                    squares += (double)m * m;
                    count++;
                }
            }
        }
        double std = Math.Sqrt(squares / count);
        float k = (float)(1 / (model.Vae.Config.ScalingFactor * std));
        Tensor quantWeight = model.VaeParameters["vae.quant_conv.weight"], quantBias = model.VaeParameters["vae.quant_conv.bias"];
        Tensor postWeight = model.VaeParameters["vae.post_quant_conv.weight"];
        float[] w = quantWeight.ToArray(), b = quantBias.ToArray(), post = postWeight.ToArray();
        int inputs = w.Length / (2 * latent);
        float logVariance = 2 * MathF.Log(k * options.PosteriorStd);
        for (int row = 0; row < 2 * latent; row++)
        {
            for (int i = 0; i < inputs; i++)
            {
                w[row * inputs + i] = row < latent ? w[row * inputs + i] * k : 0f;
            }
            b[row] = row < latent ? b[row] * k : logVariance;
        }
        // post_quant_conv [latent, latent, 1, 1]: divide each input channel's column by k.
        for (int i = 0; i < post.Length; i++)
        {
            post[i] /= k;
        }
        RunCheckpoint.Restore(quantWeight, w);
        RunCheckpoint.Restore(quantBias, b);
        RunCheckpoint.Restore(postWeight, post);
    }

    private List<float[]> LoadImages(IReadOnlyList<TrainingExample> examples, Action<string> warn, out int skipped)
    {
        var images = new List<float[]>();
        skipped = 0;
        foreach (TrainingExample example in examples)
        {
            if (example.TryLoad(options.Resolution, warn) is float[] pixels)
            {
                images.Add(pixels.Select(v => 2 * v - 1).ToArray());
            }
            else
            {
                skipped++;
            }
        }
        return images.Count > 0 ? images : throw new InvalidDataException($"none of the {examples.Count} images could be read; nothing to train on");
    }
}
