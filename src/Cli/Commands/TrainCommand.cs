using System.CommandLine;
using System.Globalization;
using Dsoup.Engine.Devices;
using Dsoup.Engine.Optim;
using Dsoup.Kernels;
using Dsoup.Models.Data;
using Dsoup.Models.Pipelines;
using Dsoup.Models.Training;

namespace Dsoup.Cli.Commands;

/// <summary>`dsoup train`: fine-tune a model's UNet on one data shard, into a resumable run folder.</summary>
internal static class TrainCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Option<string>("--model", "-m") { Description = "The base: any SD 1.x/2.x checkpoint dsoup reads (e.g. from 'dsoup synthesize --family tiny --trainable').", Required = true };
        var data = new Option<string>("--data") { Description = "A folder of images with same-named .txt captions (or a metadata.jsonl), fashion-mnist, or embedded.", Required = true };
        var output = new Option<string?>("--output", "-o") { Description = "The run folder: checkpoints, loss.csv, samples/, and the final model.safetensors." };
        var shard = new Option<int>("--shard") { Description = "This job's shard, 0-based.", DefaultValueFactory = _ => 0 };
        var shards = new Option<int>("--of") { Description = "How many shards the data is split into (one job each).", DefaultValueFactory = _ => 1 };
        var shardBy = new Option<string>("--shard-by") { Description = "name: a stable hash of each file's name; label: whole classes (fashion-mnist, embedded).", DefaultValueFactory = _ => "name" };
        shardBy.AcceptOnlyFromAmong("name", "label");
        var captionHas = new Option<string[]>("--caption-has") { Description = "Train only on examples whose caption has this word, e.g. a style (repeatable: all of them; 'red|stripes': either)." };
        var maxExamples = new Option<int>("--max-examples") { Description = "Train on at most this many of the shard's examples (an even stride; 0: all).", DefaultValueFactory = _ => 0 };
        var steps = new Option<int>("--steps") { Description = "Optimisation steps.", DefaultValueFactory = _ => 1000 };
        var batch = new Option<int>("--batch") { Description = "Images per step.", DefaultValueFactory = _ => 1 };
        var accumulate = new Option<int>("--accumulate") { Description = "Micro-batches whose gradients add up to one step.", DefaultValueFactory = _ => 1 };
        var lr = new Option<float>("--lr") { Description = "Learning rate.", DefaultValueFactory = _ => 1e-4f };
        var schedule = new Option<string>("--lr-schedule") { Description = "constant, constant_with_warmup, linear or cosine.", DefaultValueFactory = _ => "constant" };
        var warmup = new Option<int>("--warmup") { Description = "Linear warm-up steps (not with 'constant').", DefaultValueFactory = _ => 0 };
        var resolution = new Option<int>("--resolution") { Description = "Square training resolution in pixels.", DefaultValueFactory = _ => 512 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of every random choice (order, timesteps, noise).", DefaultValueFactory = _ => 0 };
        var snrGamma = new Option<float>("--snr-gamma") { Description = "Min-SNR-γ loss weighting (5 is common; 0: off).", DefaultValueFactory = _ => 0f };
        var noiseOffset = new Option<float>("--noise-offset") { Description = "Offset noise strength (0: off).", DefaultValueFactory = _ => 0f };
        var dropout = new Option<float>("--caption-dropout") { Description = "Share of captions replaced by the empty one (learns guidance's unconditional half).", DefaultValueFactory = _ => 0f };
        var flip = new Option<bool>("--random-flip") { Description = "Flip half the images horizontally." };
        var ema = new Option<bool>("--ema") { Description = "Keep an EMA of the weights (diffusers' warm-up); the final model is the EMA." };
        var checkpointing = new Option<bool>("--gradient-checkpointing") { Description = "Recompute block activations in backward (less memory, same gradients)." };
        var precision = new Option<string>("--precision") { Description = "f32, bf16, or f16 with dynamic loss scaling (f32 master weights).", DefaultValueFactory = _ => "f32" };
        precision.AcceptOnlyFromAmong("f32", "bf16", "f16");
        var maxNorm = new Option<float>("--max-grad-norm") { Description = "Clip gradients to this global norm (0: off).", DefaultValueFactory = _ => 1f };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Write a resumable checkpoint every N steps.", DefaultValueFactory = _ => 500 };
        var sampleEvery = new Option<int>("--sample-every") { Description = "Sample --sample-prompt every N steps into samples/ (0: never).", DefaultValueFactory = _ => 0 };
        var samplePrompt = new Option<string[]>("--sample-prompt") { Description = "Prompts to sample while training (repeatable).", AllowMultipleArgumentsPerToken = false };
        var lora = new Option<bool>("--lora") { Description = "Train LoRA adapters on the UNet's attention projections instead of the full weights; writes lora.safetensors (kohya), lora-peft.safetensors (PEFT) and the merged model." };
        var rank = new Option<int>("--rank") { Description = "LoRA rank.", DefaultValueFactory = _ => 4 };
        var alpha = new Option<float?>("--alpha") { Description = "LoRA α (scale α/rank); default: the rank." };
        var resume = new Option<string?>("--resume")
        {
            Description = "Continue a run from its newest checkpoint: --resume RUN, or --resume with -o RUN (a run with no checkpoint yet starts, so schedulers can re-run the same command).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var target = new Option<string>("--target")
        {
            Description = "unet: fine-tune the denoiser (default); vae: train the autoencoder from scratch (a fixed-variance AE whose latents are rescaled to unit std), to build a small model with no pretrained weights.",
            DefaultValueFactory = _ => "unet",
        };
        target.AcceptOnlyFromAmong("unet", "vae");
        var tokenizer = Choices.Tokenizer();
        var command = new Command("train",
            "Fine-tune the UNet of a Stable Diffusion model on one shard of a dataset (full weights or LoRA, AdamW), resumable from checkpoints; " +
            "the final model is written in the base's layout and dtypes, ready for 'dsoup soup'.")
        {
            model, data, output, shard, shards, shardBy, captionHas, maxExamples, steps, batch, accumulate, lr, schedule, warmup, resolution, seed, snrGamma, noiseOffset, dropout,
            flip, ema, checkpointing, precision, maxNorm, checkpointEvery, sampleEvery, samplePrompt, lora, rank, alpha, resume, target, tokenizer,
        };
        command.SetAction(result => context.Run(() =>
        {
            var options = new TrainingOptions
            {
                Steps = result.GetValue(steps), BatchSize = result.GetValue(batch), GradientAccumulation = result.GetValue(accumulate),
                LearningRate = result.GetValue(lr), Schedule = LearningRateSchedules.Parse(result.GetValue(schedule)!), WarmupSteps = result.GetValue(warmup),
                Resolution = result.GetValue(resolution), Seed = result.GetValue(seed), SnrGamma = result.GetValue(snrGamma),
                NoiseOffset = result.GetValue(noiseOffset), CaptionDropout = result.GetValue(dropout), RandomFlip = result.GetValue(flip),
                Ema = result.GetValue(ema), GradientCheckpointing = result.GetValue(checkpointing), Precision = DTypeInfo.Parse(result.GetValue(precision)!),
                MaxGradNorm = result.GetValue(maxNorm), CheckpointEvery = result.GetValue(checkpointEvery), SampleEvery = result.GetValue(sampleEvery),
                SamplePrompts = result.GetValue(samplePrompt) ?? [],
                LoraRank = result.GetValue(lora) ? result.GetValue(rank) : 0,
                LoraAlpha = result.GetValue(lora) ? result.GetValue(alpha) : null,
            };
            options.Validate();
            RunFolder(result.GetValue(output), result.GetResult(resume) is not null, result.GetValue(resume));
            bool autoencoder = result.GetValue(target) == "vae";
            if (autoencoder && (result.GetValue(lora) || result.GetResult(resume) is not null))
            {
                throw new ArgumentException("--target vae trains the autoencoder from scratch in one go; --lora and --resume are for the UNet");
            }
            IReadOnlyList<TrainingExample> all = Datasets.WithCaptionWords(Datasets.Open(result.GetValue(data)!), result.GetValue(captionHas) ?? []);
            IReadOnlyList<TrainingExample> examples = Sharding.Subsample(
                Sharding.Select(all, result.GetValue(shard), result.GetValue(shards), result.GetValue(shardBy)!), result.GetValue(maxExamples));
            context.Error.WriteLine($"shard {result.GetValue(shard)} of {result.GetValue(shards)}: {examples.Count} of {all.Count} examples");
            if (autoencoder)
            {
                var vaeOptions = new AutoencoderOptions
                {
                    Steps = options.Steps, BatchSize = options.BatchSize, LearningRate = options.LearningRate, Resolution = options.Resolution, Seed = options.Seed,
                };
                var vaeTrainer = new AutoencoderTrainer(vaeOptions, new ModelLoadOptions { Device = context.Device(result), TokenizerFolder = result.GetValue(tokenizer) });
                TrainingResult vae = vaeTrainer.Run(result.GetValue(model)!, examples, RunFolder(result.GetValue(output), false, null).Folder,
                    message => context.Error.WriteLine($"warning: {message}"), new TrainingBar(context, context.Device(result)));
                context.Output.WriteLine(vae.ModelPath);
                return 0;
            }
            var trainer = new Trainer(options, new ModelLoadOptions { Device = context.Device(result), TokenizerFolder = result.GetValue(tokenizer) },
                message => context.Error.WriteLine($"warning: {message}"), message => context.Error.WriteLine(message));
            (string folder, bool resuming) = RunFolder(result.GetValue(output), result.GetResult(resume) is not null, result.GetValue(resume));
            TrainingResult run = trainer.Run(result.GetValue(model)!, examples, folder, resuming, new TrainingBar(context, context.Device(result)));
            if (run.ResumedFrom > 0)
            {
                context.Error.WriteLine($"resumed from step {run.ResumedFrom}");
            }
            if (run.SkippedImages > 0)
            {
                context.Error.WriteLine($"{run.SkippedImages} unreadable images were skipped");
            }
            context.Error.WriteLine($"peak host memory {Units.Bytes(System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64)}{DeviceMemory.Peak(context.Device(result))}");
            context.Output.WriteLine(run.ModelPath);
            return 0;
        }));
        return command;
    }

    /// <summary>The run folder from -o and --resume [RUN], which must agree where both are given.</summary>
    private static (string Folder, bool Resume) RunFolder(string? output, bool resume, string? resumed)
    {
        if (resumed is not null && output is not null && Path.GetFullPath(resumed) != Path.GetFullPath(output))
        {
            throw new ArgumentException($"--resume {resumed} and -o {output} name different runs; give one of them");
        }
        string folder = resumed ?? output ?? throw new ArgumentException("-o RUN is required: the run folder to write (or --resume RUN to continue one)");
        return (folder, resume);
    }

    /// <summary>The progress line: step, losses, learning rate, rate, ETA, and the device memory high-water mark where the device has its own.</summary>
    private sealed class TrainingBar(CliContext context, Device device) : IProgress<TrainingProgress>
    {
        private double lastDraw = double.NegativeInfinity;

        public void Report(TrainingProgress p)
        {
            double seconds = p.Elapsed.TotalSeconds;
            if (p.Step != p.Steps && seconds - lastDraw < (context.Interactive ? 0.2 : 5.0))
            {
                return;
            }
            lastDraw = seconds;
            double rate = p.StepsThisProcess / Math.Max(1e-9, seconds);
            string line = string.Create(CultureInfo.InvariantCulture,
                $"train {p.Step}/{p.Steps} loss {p.RunningLoss:F4} (last {p.Loss:F4}) lr {p.LearningRate:G3} {rate:F2} it/s ETA {(p.Steps - p.Step) / Math.Max(1e-9, rate):F0}s{DeviceMemory.Peak(device)}");
            context.Error.Write(context.Interactive ? "\r" + line + (p.Step == p.Steps ? "\n" : "") : line + "\n");
        }
    }
}
