using Dsoup.Models.Architecture;

namespace Dsoup.Models.Layouts;

/// <summary>The key maps of SD 1.x/2.x checkpoints, and which one an original-layout key belongs to.</summary>
public static class KeyMaps
{
    public static readonly IComponentKeyMap Unet = new UNetKeyMap(UNetConfig.StableDiffusion1);

    public static readonly IComponentKeyMap Vae = new VaeKeyMap();

    public static readonly IComponentKeyMap ClipL = new ClipKeyMap();

    public static readonly IComponentKeyMap OpenClip = new OpenClipKeyMap();

    /// <summary>Every original-layout prefix, most specific first.</summary>
    public static readonly IReadOnlyList<IComponentKeyMap> Original = [Unet, Vae, ClipL, OpenClip];

    /// <summary>The map whose original prefix starts <paramref name="key"/>, if any.</summary>
    public static IComponentKeyMap? ForOriginalKey(string key) =>
        Original.FirstOrDefault(m => key.StartsWith(m.OriginalPrefix, StringComparison.Ordinal));

    /// <summary>The map that writes a component in the original layout (the text encoder's depends on its kind).</summary>
    public static IComponentKeyMap For(ModelComponent component, TextEncoderKind textEncoder) => component switch
    {
        ModelComponent.Unet => Unet,
        ModelComponent.Vae => Vae,
        _ => textEncoder == TextEncoderKind.OpenClipH ? OpenClip : ClipL,
    };
}

/// <summary>Which text encoder a checkpoint carries: SD 1.x's CLIP ViT-L or SD 2.x's OpenCLIP ViT-H.</summary>
public enum TextEncoderKind
{
    None,
    ClipL,
    OpenClipH,
}
