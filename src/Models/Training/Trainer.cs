using System.Diagnostics;
using System.Globalization;
using Dsoup.Engine;
using Dsoup.Engine.Autograd;
using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Engine.Optim;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels;
using Dsoup.Models.Conversion;
using Dsoup.Models.Data;
using Dsoup.Models.Lora;
using Dsoup.Models.Modules;
using Dsoup.Models.Pipelines;
using Dsoup.Models.Schedulers;
using Dsoup.Models.Vae;

namespace Dsoup.Models.Training;

/// <summary>
/// Fine-tunes a model's UNet on one set of captioned images, as diffusers' train_text_to_image.py does: VAE
/// latents (×scaling factor) and text states computed once with both frozen; per sample a uniform timestep, the
/// forward process, an ε or v target, MSE (optionally min-SNR-weighted); AdamW with clipping, warm-up and
/// schedules; optional EMA, caption dropout, offset noise, flips, gradient checkpointing, accumulation and mixed
/// precision. A run lives in a folder: periodic checkpoints (resumable to the same weights), loss.csv, samples,
/// and the final model.safetensors in the base's layout and dtypes.
/// </summary>
public sealed class Trainer(TrainingOptions options, ModelLoadOptions load, Action<string> warn, Action<string>? inform = null)
{
    public TrainingResult Run(string basePath, IReadOnlyList<TrainingExample> examples, string runFolder, bool resume,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        options.Validate();
        if (examples.Count == 0)
        {
            throw new InvalidDataException("the shard is empty: no examples to train on (check --data, --shard and --of)");
        }
        // With resume, a folder without checkpoints starts the run: a scheduler re-running the same command just works.
        string? checkpoint = RunCheckpoint.Latest(runFolder);
        resume &= checkpoint is not null;
        if (!resume && checkpoint is not null)
        {
            throw new IOException($"{runFolder} already holds a run (checkpoints); pass --resume to continue it, or choose another -o");
        }
        Directory.CreateDirectory(runFolder);

        using StableDiffusionModel model = StableDiffusionModel.Load(basePath, load with { DType = options.Precision, WithVaeEncoder = true });
        model.Unet.GradientCheckpointing = options.GradientCheckpointing;
        inform?.Invoke($"encoding {examples.Count} images with the VAE and their captions with the text encoder (once, both frozen)");
        var data = new TrainingData(model, examples, options.Resolution, options.RandomFlip, warn);
        var metadata = new Dictionary<string, string>
        {
            [RunCheckpoint.OptionsKey] = options.Fingerprint(),
            [RunCheckpoint.BaseKey] = BaseFingerprint(model),
            [RunCheckpoint.DataKey] = DataFingerprint(examples),
        };
        IReadOnlyList<(string Module, LoraAdapter Adapter)> adapters = options.LoraRank > 0
            ? LoraAdapters.AttachFresh(model.UnetLinears, options.LoraRank, options.LoraAlpha ?? options.LoraRank, options.Seed, options.Precision, model.Device)
            : [];
        var parameters = adapters.Count > 0
            ? adapters.SelectMany(a => new[] { a.Adapter.Down, a.Adapter.Up }).ToList()
            : model.UnetParameters.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Value).ToList();
        foreach (Tensor p in parameters)
        {
            p.RequiresGrad = true;
        }
        using var adam = new AdamW(parameters, options.LearningRate, weightDecay: options.WeightDecay);
        using ExponentialMovingAverage? ema = options.Ema ? new ExponentialMovingAverage(parameters, options.EmaDecay) : null;
        DynamicLossScale? lossScale = options.Precision == DType.F16 ? new DynamicLossScale() : null;
        int start = resume ? Restore(checkpoint!, metadata, parameters, adam, ema) : 0;

        var schedule = new NoiseSchedule(model.Scheduler);
        int latentCount = (int)data.LatentShape.Count, channels = data.LatentShape[1];
        var draws = new StepDraws(options.Seed, latentCount, channels);
        string lossPath = Path.Combine(runFolder, "loss.csv");
        TrimLossLog(lossPath, start);
        var clock = Stopwatch.StartNew();
        double lossSum = 0;
        float lastLoss = float.NaN;
        for (int step = start; step < options.Steps; step++)
        {
            cancel.ThrowIfCancellationRequested();
            float learningRate = options.LearningRate * (float)LearningRateSchedules.Factor(options.Schedule, step, options.WarmupSteps, options.Steps);
            adam.LearningRate = learningRate;
            float loss = 0;
            using (var scope = model.Device.BeginStep())
            {
                for (int micro = 0; micro < options.GradientAccumulation; micro++)
                {
                    long first = ((long)step * options.GradientAccumulation + micro) * options.BatchSize;
                    loss += Backpropagate(model, data, schedule, draws, first, lossScale?.Scale ?? 1f) / options.GradientAccumulation;
                }
                bool applied = adam.Step(options.MaxGradNorm, lossScale?.Scale ?? 1f);
                lossScale?.Update(applied);
                adam.ZeroGrad();
            }
            ema?.Update(ExponentialMovingAverage.WarmupDecay(step + 1, options.EmaDecay));
            lastLoss = loss;
            lossSum += loss;
            File.AppendAllText(lossPath, string.Create(CultureInfo.InvariantCulture, $"{step + 1},{loss:R},{learningRate:R}\n"));
            progress?.Report(new TrainingProgress(step + 1, options.Steps, loss, (float)(lossSum / (step + 1 - start)), learningRate, clock.Elapsed, step + 1 - start));
            if ((step + 1) % options.CheckpointEvery == 0 || step + 1 == options.Steps)
            {
                Save(runFolder, step + 1, metadata, parameters, adam, ema);
            }
            if (options.SampleEvery > 0 && ((step + 1) % options.SampleEvery == 0 || step + 1 == options.Steps))
            {
                Sample(model, step + 1, runFolder);
            }
        }

        if (ema is not null)
        {
            // The run's result is the average, as diffusers copies its EMA into the model before saving.
            for (int i = 0; i < parameters.Count; i++)
            {
                RunCheckpoint.Restore(parameters[i], ema.Shadows[i].ToArray());
            }
        }
        var provenance = new Dictionary<string, string>
        {
            ["dsoup.version"] = EngineVersion.Text,
            ["dsoup.train.base"] = Path.GetFileName(Path.TrimEndingDirectorySeparator(basePath)),
            ["dsoup.train.steps"] = options.Steps.ToString(CultureInfo.InvariantCulture),
            ["dsoup.train.options"] = options.Fingerprint(),
        };
        // The optimizer's moments (twice the trained weights) are not needed to write the model.
        adam.Dispose();
        ema?.Dispose();
        Func<string, float[]?> trained;
        if (adapters.Count > 0)
        {
            LoraAdapters.Save(Path.Combine(runFolder, "lora.safetensors"), adapters, LoraConvention.Kohya, new Dictionary<string, string>(provenance) { ["format"] = "pt" });
            LoraAdapters.Save(Path.Combine(runFolder, "lora-peft.safetensors"), adapters, LoraConvention.Peft, new Dictionary<string, string>(provenance) { ["format"] = "pt" });
            trained = name => LoraAdapters.Merged(name, model.UnetLinears);
        }
        else
        {
            trained = name => model.UnetParameters.TryGetValue(name, out Tensor? p) ? p.ToArray() : null;
        }
        string modelPath = Path.Combine(runFolder, "model.safetensors");
        var exportMetadata = new Dictionary<string, string>(model.Checkpoint.Metadata);
        foreach ((string key, string value) in provenance)
        {
            exportMetadata[key] = value;
        }
        ModelExport.Write(model.Checkpoint, modelPath, trained, exportMetadata);
        foreach ((_, LoraAdapter adapter) in adapters)
        {
            adapter.Dispose();
        }
        return new TrainingResult(runFolder, modelPath, options.Steps, lastLoss, data.Skipped, start);
    }

    /// <summary>Forward and backward of one micro-batch starting at run sample <paramref name="first"/>; returns its (unscaled) loss.</summary>
    private float Backpropagate(StableDiffusionModel model, TrainingData data, NoiseSchedule schedule, StepDraws draws, long first, float lossScale)
    {
        int batch = options.BatchSize, latentCount = (int)data.LatentShape.Count;
        float scaling = model.Vae.Config.ScalingFactor;
        var noisy = new float[batch * latentCount];
        var target = new float[batch * latentCount];
        var timesteps = new float[batch];
        var weights = new float[batch];
        var context = new List<float>();
        for (int j = 0; j < batch; j++)
        {
            long sample = first + j;
            int index = draws.ExampleIndex(sample, data.Count);
            LatentDistribution distribution = data.Latent(index, options.RandomFlip && draws.Flip(sample));
            var problem = DenoisingProblem.Draw(distribution, draws, sample, schedule, model.Scheduler, scaling, options.NoiseOffset);
            int t = problem.Timestep;
            timesteps[j] = t;
            problem.Noisy.CopyTo(noisy, j * latentCount);
            problem.Target.CopyTo(target, j * latentCount);
            weights[j] = SampleWeight(schedule.AlphasCumprod[t], model.Scheduler.Prediction);
            context.AddRange(data.States(draws.DropCaption(sample, options.CaptionDropout) ? "" : data.Caption(index)));
        }
        Shape shape = new([batch, .. data.LatentShape.Dims[1..]]);
        using Tensor x = Tensor.FromArray(noisy, shape, model.DType, model.Device);
        using Tensor y = Tensor.FromArray(target, shape, model.DType, model.Device);
        int hidden = context.Count / batch / Text.ClipTokenizer.ContextLength;
        using Tensor c = Tensor.FromArray(context.ToArray(), new Shape(batch, Text.ClipTokenizer.ContextLength, hidden), model.DType, model.Device);
        using Tensor w = Tensor.FromArray(weights, new Shape(batch), model.DType, model.Device);
        using Tape tape = Tape.Start();
        Tensor prediction = model.Unet.Forward(x, timesteps, c);
        Tensor loss = Ops.MseLoss(prediction, y, options.SnrGamma > 0 ? w : null);
        float value = loss.Item();
        tape.Backward(lossScale == 1f ? loss : loss * lossScale);
        return value;
    }

    /// <summary>Min-SNR-γ weight (snr = ᾱ/(1 − ᾱ)): min(snr, γ)/snr for ε, min(snr, γ)/(snr + 1) for v; 1 without γ.</summary>
    private float SampleWeight(float alphaCumprod, PredictionType prediction)
    {
        if (options.SnrGamma <= 0)
        {
            return 1f;
        }
        float snr = alphaCumprod / (1 - alphaCumprod);
        float clipped = Math.Min(snr, options.SnrGamma);
        return prediction == PredictionType.VPrediction ? clipped / (snr + 1) : clipped / snr;
    }

    private static void Save(string runFolder, int step, Dictionary<string, string> metadata, List<Tensor> parameters, AdamW adam, ExponentialMovingAverage? ema)
    {
        var tensors = parameters.Select(p => (p.Name!, p)).Concat(adam.StateTensors()).ToList();
        if (ema is not null)
        {
            tensors.AddRange(parameters.Select((p, i) => ($"ema.{p.Name}", ema.Shadows[i])));
        }
        var withStep = new Dictionary<string, string>(metadata) { [RunCheckpoint.StepKey] = step.ToString(CultureInfo.InvariantCulture) };
        RunCheckpoint.Save(RunCheckpoint.PathFor(runFolder, step), tensors, withStep);
    }

    /// <summary>Loads the newest checkpoint after checking it belongs to this model, data and configuration; returns its step.</summary>
    private static int Restore(string path, Dictionary<string, string> metadata, List<Tensor> parameters, AdamW adam, ExponentialMovingAverage? ema)
    {
        using SafetensorsReader reader = SafetensorsReader.Open(path);
        foreach ((string key, string expected) in metadata)
        {
            if (!reader.Metadata.TryGetValue(key, out string? found) || found != expected)
            {
                string what = key == RunCheckpoint.BaseKey ? "base model" : key == RunCheckpoint.DataKey ? "data" : "training settings";
                throw new InvalidDataException($"{path}: the checkpoint was made with another {what} ({found ?? "none recorded"}; this run: {expected}); resume only the run that made it");
            }
        }
        foreach (Tensor p in parameters)
        {
            RunCheckpoint.Restore(p, RunCheckpoint.Read(reader, p.Name!));
        }
        adam.LoadState(name => RunCheckpoint.Read(reader, name));
        if (ema is not null)
        {
            for (int i = 0; i < parameters.Count; i++)
            {
                RunCheckpoint.Restore(ema.Shadows[i], RunCheckpoint.Read(reader, $"ema.{parameters[i].Name}"));
            }
        }
        return int.Parse(reader.Metadata[RunCheckpoint.StepKey], CultureInfo.InvariantCulture);
    }

    /// <summary>Drops loss rows after the step a resumed run continues from (they were written past the checkpoint).</summary>
    private static void TrimLossLog(string path, int step)
    {
        if (!File.Exists(path))
        {
            File.WriteAllText(path, "step,loss,learning_rate\n");
            return;
        }
        // A line cut short by a kill can only be the last, for a step past the checkpoint; whole rows are kept up to it.
        var kept = File.ReadAllLines(path).Where((line, i) => i == 0 || (line.Split(',') is [string s, _, string rate]
            && int.TryParse(s, CultureInfo.InvariantCulture, out int row) && row <= step
            && float.TryParse(rate, CultureInfo.InvariantCulture, out _)));
        File.WriteAllLines(path, kept);
    }

    private void Sample(StableDiffusionModel model, int step, string runFolder)
    {
        string folder = Path.Combine(runFolder, "samples");
        Directory.CreateDirectory(folder);
        var pipeline = new TextToImage(model);
        for (int i = 0; i < options.SamplePrompts.Count; i++)
        {
            var settings = new GenerationSettings
            {
                Prompt = options.SamplePrompts[i], Width = options.Resolution, Height = options.Resolution, Steps = 20, Seed = options.Seed + (ulong)i,
            };
            GeneratedImages images = pipeline.Generate(settings);
            Images.PngImages.Save(Path.Combine(folder, $"step-{step:D7}-{i}.png"), images.Rgb8(0), images.Width, images.Height,
                GenerationParameters.Format(settings, images.Sampler, $"training step {step}", 0));
        }
    }

    private static string BaseFingerprint(StableDiffusionModel model) =>
        $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(model.Source))} ({model.UnetParameters.Values.Sum(t => t.Count)} UNet parameters)";

    private static string DataFingerprint(IReadOnlyList<TrainingExample> examples) =>
        $"{examples.Count} examples, names {Sharding.StableHash(string.Join('\n', examples.Select(e => e.Name))):x16}";
}
