using Dsoup.Models.Layouts;

namespace Dsoup.Models.Architecture;

/// <summary>A named model architecture: its components' tensors in canonical naming.</summary>
public sealed record ModelFamily(string Name, string DisplayName, UNetConfig Unet, VaeConfig Vae, TextEncoderConfig TextEncoder)
{
    public static readonly ModelFamily Sd15 = new("sd15", "SD 1.x", UNetConfig.StableDiffusion1, VaeConfig.StableDiffusion, TextEncoderConfig.ClipL);

    public static readonly ModelFamily Sd15Inpainting = new("sd15-inpainting", "SD 1.x inpainting", UNetConfig.StableDiffusion1 with { InChannels = 9 }, VaeConfig.StableDiffusion, TextEncoderConfig.ClipL);

    public static readonly ModelFamily Sd21 = new("sd21", "SD 2.x", UNetConfig.StableDiffusion2, VaeConfig.StableDiffusion, TextEncoderConfig.OpenClipH);

    /// <summary>
    /// SD 1.x's structure at toy width (about 3.9 M parameters): same names, so every layout and merge path applies.
    /// Groups of 4 channels in GroupNorm (SD's 32 groups would normalise each 32-wide channel alone, removing the
    /// per-channel offsets that carry colour, and a VAE trained from scratch then loses colour).
    /// </summary>
    public static readonly ModelFamily Tiny = new("tiny", "dsoup tiny (SD 1.x structure at toy width)",
        new UNetConfig(4, 4, [32, 32, 64, 64], 2, 32, false, 3) { NormGroups = 8 },
        new VaeConfig(3, 4, [32, 32, 64, 64], 2) { NormGroups = 8 },
        new TextEncoderConfig(32, 64, 2, 49408, 77));

    /// <summary><see cref="Tiny"/> with the inpainting UNet's 9 input channels.</summary>
    public static readonly ModelFamily TinyInpainting = Tiny with { Name = "tiny-inpainting", DisplayName = "dsoup tiny inpainting", Unet = Tiny.Unet with { InChannels = 9 } };

    public static readonly IReadOnlyList<ModelFamily> All = [Sd15, Sd15Inpainting, Sd21, Tiny, TinyInpainting];

    public static ModelFamily Parse(string name) =>
        All.FirstOrDefault(f => f.Name.Equals(name.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown model family '{name}': expected one of {string.Join(", ", All.Select(f => f.Name))}");

    public TextEncoderKind TextEncoderKind => TextEncoder.Hidden == 1024 ? TextEncoderKind.OpenClipH : TextEncoderKind.ClipL;

    /// <summary>The tensors of one component of this family, in diffusers naming.</summary>
    public IReadOnlyList<ParameterSpec> Specs(ModelComponent component) => component switch
    {
        ModelComponent.Unet => UNetParameters.For(Unet),
        ModelComponent.Vae => VaeParameters.For(Vae),
        _ => TextEncoderParameters.For(TextEncoder),
    };

    /// <summary>Every tensor of the family's components, with the given storage type and no data yet.</summary>
    public IReadOnlyList<ModelTensor> Tensors(Engine.Checkpoints.StorageType type, IEnumerable<ModelComponent>? components = null) =>
        (components ?? ModelComponents.All)
            .SelectMany(c => Specs(c).Select(s => new ModelTensor(ModelTensor.CanonicalName(c, s.Name), c, s.Name, type, s.Shape, [])))
            .ToList();
}
