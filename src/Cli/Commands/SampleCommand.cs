using System.CommandLine;
using System.Diagnostics;
using Dsoup.Engine.Random;
using Dsoup.Kernels;
using Dsoup.Models.Images;
using Dsoup.Models.Pipelines;
using Dsoup.Models.Schedulers;

namespace Dsoup.Cli.Commands;

/// <summary>`dsoup sample`: text to image and image to image, with the names and short flags stable-diffusion.cpp users know.</summary>
internal static class SampleCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Option<string>("--model", "-m") { Description = "A Stable Diffusion 1.x/2.x model: a diffusers folder, or a single .safetensors/.ckpt file.", Required = true };
        var prompt = new Option<string>("--prompt", "-p") { Description = "What to draw.", Required = true };
        var negative = new Option<string>("--negative-prompt", "-n") { Description = "What to steer away from (the unconditional half of guidance).", DefaultValueFactory = _ => "" };
        var steps = new Option<int>("--steps") { Description = "Sampling steps.", DefaultValueFactory = _ => 20 };
        var cfg = new Option<float>("--cfg-scale") { Description = "Classifier-free guidance scale (off at 1).", DefaultValueFactory = _ => 7.5f };
        var seed = new Option<ulong>("--seed", "-s") { Description = "Seed of the noise generator.", DefaultValueFactory = _ => 42 };
        var sampler = new Option<string?>("--sampler") { Description = "ddim, euler, euler_a, dpm++2m or pndm. Default: the diffusers folder's scheduler config; euler_a for single files." };
        sampler.AcceptOnlyFromAmong([.. Samplers.Names]);
        var schedule = new Option<string?>("--scheduler") { Description = "Noise schedule: karras (σ spaced as Karras et al.; euler and dpm++2m)." };
        schedule.AcceptOnlyFromAmong("karras", "default");
        var rng = new Option<string>("--rng") { Description = "philox: PyTorch's CUDA generator as A1111 and stable-diffusion.cpp reproduce it; torch-cpu: PyTorch's CPU generator (diffusers on CPU, ComfyUI).", DefaultValueFactory = _ => "philox" };
        rng.AcceptOnlyFromAmong("philox", "torch-cpu");
        var width = new Option<int?>("--width", "-W") { Description = "Image width, a multiple of 8 (default 512, or the init image's)." };
        var height = new Option<int?>("--height", "-H") { Description = "Image height, a multiple of 8 (default 512, or the init image's)." };
        var batch = new Option<int>("--batch", "-b") { Description = "Images from one prompt, drawn from one generator as diffusers draws a batch.", DefaultValueFactory = _ => 1 };
        var initImage = new Option<string?>("--init-img", "-i") { Description = "Start from this image (image to image)." };
        var strength = new Option<float>("--strength") { Description = "How much of the schedule image to image runs: 0 keeps the image, 1 redraws it.", DefaultValueFactory = _ => 0.75f };
        var output = new Option<string>("--output", "-o") { Description = "Folder for the PNGs (created if missing).", DefaultValueFactory = _ => "output" };
        var tokenizer = Choices.Tokenizer();
        var vae = new Option<string?>("--vae") { Description = "A VAE checkpoint to decode with instead of the model's own." };
        var precision = new Option<string>("--precision") { Description = "Weights and activations: f32, f16 or bf16.", DefaultValueFactory = _ => "f32" };
        precision.AcceptOnlyFromAmong("f32", "f16", "bf16");
        var prediction = new Option<string?>("--prediction") { Description = "What the model predicts where its files do not say: epsilon, or v (SD 2.x 768 models)." };
        prediction.AcceptOnlyFromAmong("epsilon", "v");
        var command = new Command("sample", "Generate images from a prompt (and optionally a start image) with a Stable Diffusion 1.x/2.x model.")
        {
            model, prompt, negative, steps, cfg, seed, sampler, schedule, rng, width, height, batch, initImage, strength, output, tokenizer, vae, precision, prediction,
        };
        command.SetAction(result => context.Run(() =>
        {
            string? init = result.GetValue(initImage);
            (int w, int h) = Size(result.GetValue(width), result.GetValue(height), init);
            var settings = new GenerationSettings
            {
                Prompt = result.GetValue(prompt)!,
                NegativePrompt = result.GetValue(negative)!,
                Steps = result.GetValue(steps),
                CfgScale = result.GetValue(cfg),
                Seed = result.GetValue(seed),
                Sampler = result.GetValue(sampler),
                Karras = result.GetValue(schedule) == "karras",
                Rng = NoiseGenerators.Parse(result.GetValue(rng)!),
                Width = w,
                Height = h,
                Batch = result.GetValue(batch),
                Strength = result.GetValue(strength),
                InitImage = init is null ? null : InitImages.LoadRgb(init, w, h),
            };
            settings.Validate();
            string modelPath = result.GetValue(model)!;
            var clock = Stopwatch.StartNew();
            using StableDiffusionModel sd = StableDiffusionModel.Load(modelPath, new ModelLoadOptions
            {
                Device = context.Device(result),
                DType = DTypeInfo.Parse(result.GetValue(precision)!),
                TokenizerFolder = result.GetValue(tokenizer),
                VaePath = result.GetValue(vae),
                Prediction = result.GetValue(prediction) switch { "v" => PredictionType.VPrediction, "epsilon" => PredictionType.Epsilon, _ => null },
                WithVaeEncoder = init is not null,
            });
            context.Error.WriteLine($"loaded {sd.FamilyName} from {modelPath} on {sd.Device.Name} in {clock.Elapsed.TotalSeconds:F1} s");
            var pipeline = new TextToImage(sd);
            pipeline.PromptTruncated += (text, count) => context.Error.WriteLine(
                $"warning: the prompt has {count} tokens; only the first 75 are used: \"{Shorten(text)}\"");
            GeneratedImages images = pipeline.Generate(settings, new StepProgress(context.Error, context.Interactive, "sampling"));
            SamplingTimings t = images.Timings;
            context.Error.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"text encoder {t.TextEncoder:F2} s; UNet {t.Steps.Count} steps, median {t.MedianStep:F2} s/step{(settings.CfgScale > 1 ? " with guidance" : "")}; " +
                $"VAE decode {t.Decode:F2} s; peak memory {Units.Bytes(System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64)}{DeviceMemory.Peak(sd.Device)}"));
            string folder = result.GetValue(output)!;
            Directory.CreateDirectory(folder);
            string modelName = Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(modelPath));
            for (int i = 0; i < images.Batch; i++)
            {
                string path = NextFreeName(folder, settings.Seed);
                PngImages.Save(path, images.Rgb8(i), images.Width, images.Height, GenerationParameters.Format(settings, images.Sampler, modelName, i));
                context.Output.WriteLine(path);
            }
            return 0;
        }));
        return command;
    }

    /// <summary>-W/-H, else the init image's size rounded down to multiples of 8 (as diffusers does), else 512.</summary>
    private static (int Width, int Height) Size(int? width, int? height, string? initImage)
    {
        if (initImage is not null && (width is null || height is null))
        {
            (int w, int h) = InitImages.Size(initImage);
            return (width ?? w / 8 * 8, height ?? h / 8 * 8);
        }
        return (width ?? 512, height ?? 512);
    }

    private static string NextFreeName(string folder, ulong seed)
    {
        int counter = Directory.EnumerateFiles(folder, "*.png").Count();
        string path;
        while (File.Exists(path = Path.Combine(folder, $"{counter:D5}-{seed}.png")))
        {
            counter++;
        }
        return path;
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";
}
