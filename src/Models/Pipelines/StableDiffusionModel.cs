using System.Text.Json;
using Dsoup.Engine.Devices;
using Dsoup.Models.Architecture;
using Dsoup.Models.Inspection;
using Dsoup.Models.Layouts;
using Dsoup.Models.Loading;
using Dsoup.Models.Modules;
using Dsoup.Models.Schedulers;
using Dsoup.Models.Text;
using Dsoup.Models.TextEncoders;
using Dsoup.Models.Unet;
using Dsoup.Models.Vae;

namespace Dsoup.Models.Pipelines;

/// <summary>
/// A Stable Diffusion 1.x/2.x model ready to sample: tokenizer, text encoder, UNet, VAE and the scheduler
/// settings, loaded from a diffusers folder (configs, tokenizer and scheduler from its subfolders) or a single
/// file in either layout (configs from its family; the tokenizer from <see cref="ModelLoadOptions.TokenizerFolder"/>).
/// </summary>
public sealed class StableDiffusionModel : IDisposable
{
    private readonly List<ModelCheckpoint> checkpoints;
    private readonly Weights[] weights;

    private StableDiffusionModel(string source, string familyName, ClipTokenizer tokenizer, int padToken, ClipTextModel textEncoder,
        UNet2DConditionModel unet, AutoencoderKL vae, SchedulerConfig scheduler, List<ModelCheckpoint> checkpoints, Weights[] weights)
    {
        this.weights = weights;
        Source = source;
        FamilyName = familyName;
        Tokenizer = tokenizer;
        PadToken = padToken;
        TextEncoder = textEncoder;
        Unet = unet;
        Vae = vae;
        Scheduler = scheduler;
        this.checkpoints = checkpoints;
    }

    public string Source { get; }

    public string FamilyName { get; }

    /// <summary>The tokenizer: the model folder's, the options' folder, or else CLIP's own vocabulary embedded in dsoup (the same ids).</summary>
    public ClipTokenizer Tokenizer { get; }

    /// <summary>The id prompts are padded with: the end token in SD 1.x, 0 ("!") in SD 2.x.</summary>
    public int PadToken { get; }

    public ClipTextModel TextEncoder { get; }

    public UNet2DConditionModel Unet { get; }

    public AutoencoderKL Vae { get; }

    public SchedulerConfig Scheduler { get; }

    /// <summary>The UNet's tensors by canonical name ("unet.…"): the parameters fine-tuning updates.</summary>
    public IReadOnlyDictionary<string, Engine.Tensors.Tensor> UnetParameters => weights[1].Loaded;

    /// <summary>The VAE's tensors by canonical name ("vae.…"), for training an autoencoder from scratch.</summary>
    public IReadOnlyDictionary<string, Engine.Tensors.Tensor> VaeParameters => weights[2].Loaded;

    /// <summary>The UNet's linear layers by canonical key path, where LoRA adapters attach.</summary>
    public IReadOnlyDictionary<string, Linear> UnetLinears => weights[1].Linears;

    /// <summary>The checkpoint the model came from (its layout and dtypes are what a fine-tuned model is saved in).</summary>
    public ModelCheckpoint Checkpoint => checkpoints[0];

    public Device Device => Unet.Device;

    /// <summary>The dtype of weights and activations.</summary>
    public Kernels.DType DType { get; private init; }

    public static StableDiffusionModel Load(string path, ModelLoadOptions? options = null)
    {
        options ??= new ModelLoadOptions();
        Device device = options.Device ?? Device.Default;
        var checkpoints = new List<ModelCheckpoint>();
        try
        {
            ModelCheckpoint checkpoint = ModelCheckpoint.Open(path);
            checkpoints.Add(checkpoint);
            bool folder = Directory.Exists(path);
            ModelFamily? family = Inspector.Identify(checkpoint);
            UNetConfig unet = ComponentConfig(path, "unet", ComponentConfigs.ReadUNet) ?? family?.Unet ?? throw Unsupported(checkpoint);
            TextEncoderConfig text = ComponentConfig(path, "text_encoder", ComponentConfigs.ReadTextEncoder) ?? family?.TextEncoder ?? throw Unsupported(checkpoint);
            VaeConfig vaeConfig = ComponentConfig(path, "vae", ComponentConfigs.ReadVae) ?? family?.Vae ?? throw Unsupported(checkpoint);
            foreach (ModelComponent component in ModelComponents.All)
            {
                if (!checkpoint.Components.Contains(component) && !(component == ModelComponent.Vae && options.VaePath is not null))
                {
                    throw new InvalidDataException($"{path}: the checkpoint has no {component.FolderName()} weights; sampling needs the UNet, the VAE and the text encoder");
                }
            }
            string? tokenizerFolder = options.TokenizerFolder ?? (folder && Directory.Exists(Path.Combine(path, "tokenizer")) ? Path.Combine(path, "tokenizer") : null);
            ClipTokenizer tokenizer = tokenizerFolder is null ? ClipTokenizer.Embedded() : ClipTokenizer.FromFolder(tokenizerFolder);
            SchedulerConfig scheduler = ComponentConfig(path, Path.Combine("scheduler", "scheduler_config.json"), SchedulerConfig.Load, fileName: true)
                ?? new SchedulerConfig { ClassName = "EulerAncestralDiscreteScheduler" };
            if (options.Prediction is PredictionType prediction)
            {
                scheduler = scheduler with { Prediction = prediction };
            }
            ModelCheckpoint vaeSource = checkpoint;
            if (options.VaePath is string vaePath)
            {
                vaeSource = ModelCheckpoint.Open(vaePath);
                checkpoints.Add(vaeSource);
                if (!vaeSource.Components.Contains(ModelComponent.Vae))
                {
                    throw new InvalidDataException($"{vaePath}: holds no VAE weights (--vae expects an AutoencoderKL checkpoint)");
                }
            }
            Weights[] weights =
            [
                new(checkpoint, "text_encoder", device, options.DType), new(checkpoint, "unet", device, options.DType),
                new(vaeSource, "vae", device, options.DType),
            ];
            var encoder = new ClipTextModel(weights[0], text);
            var model = new UNet2DConditionModel(weights[1], unet);
            var vae = new AutoencoderKL(weights[2], vaeConfig, options.WithVaeEncoder);
            string familyName = family?.DisplayName ?? (text.Hidden == 1024 ? "SD 2.x" : "SD 1.x");
            return new StableDiffusionModel(path, familyName, tokenizer, ReadPadToken(tokenizerFolder, text), encoder, model, vae, scheduler, checkpoints, weights)
            {
                DType = options.DType,
            };
        }
        catch
        {
            foreach (ModelCheckpoint c in checkpoints)
            {
                c.Dispose();
            }
            throw;
        }
    }

    /// <summary>A diffusers folder's component config (component/config.json), or null for single files.</summary>
    private static T? ComponentConfig<T>(string path, string component, Func<string, T> read, bool fileName = false)
        where T : class
    {
        string file = fileName ? Path.Combine(path, component) : Path.Combine(path, component, "config.json");
        return Directory.Exists(path) && File.Exists(file) ? read(file) : null;
    }

    /// <summary>SD 2.x's tokenizer pads with "!" (id 0), SD 1.x's with the end token; a folder's special_tokens_map.json says which.</summary>
    private static int ReadPadToken(string? tokenizerFolder, TextEncoderConfig text)
    {
        string? map = tokenizerFolder is null ? null : Path.Combine(tokenizerFolder, "special_tokens_map.json");
        if (map is not null && File.Exists(map))
        {
            JsonElement root = JsonDocument.Parse(File.ReadAllText(map)).RootElement;
            if (root.TryGetProperty("pad_token", out JsonElement pad))
            {
                string? content = pad.ValueKind == JsonValueKind.String ? pad.GetString() : pad.TryGetProperty("content", out JsonElement c) ? c.GetString() : null;
                return content == "!" ? 0 : ClipTokenizer.EndToken;
            }
        }
        return text.Hidden == 1024 ? 0 : ClipTokenizer.EndToken;
    }

    private static NotSupportedException Unsupported(ModelCheckpoint checkpoint) => new(checkpoint.Foreign is ForeignFamily foreign
        ? $"{checkpoint.Source}: {foreign.DisplayName} models cannot be sampled by dsoup (SD 1.x and 2.x only); they can be souped"
        : $"{checkpoint.Source}: not a Stable Diffusion 1.x/2.x model dsoup recognises (no matching UNet, VAE and text encoder)");

    public void Dispose()
    {
        foreach (Weights w in weights)
        {
            w.Release();
        }
        foreach (ModelCheckpoint checkpoint in checkpoints)
        {
            checkpoint.Dispose();
        }
    }
}
