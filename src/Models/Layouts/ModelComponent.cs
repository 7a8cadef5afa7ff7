namespace Dsoup.Models.Layouts;

/// <summary>The parts of a Stable Diffusion checkpoint that dsoup understands.</summary>
public enum ModelComponent
{
    Unet,
    Vae,
    TextEncoder,
}

public static class ModelComponents
{
    public static readonly IReadOnlyList<ModelComponent> All = [ModelComponent.Unet, ModelComponent.Vae, ModelComponent.TextEncoder];

    /// <summary>The diffusers folder (and single-file key prefix) of the component: unet, vae, text_encoder.</summary>
    public static string FolderName(this ModelComponent component) => component switch
    {
        ModelComponent.Unet => "unet",
        ModelComponent.Vae => "vae",
        _ => "text_encoder",
    };

    /// <summary>The weights file name diffusers uses inside the component's folder.</summary>
    public static string WeightsFileName(this ModelComponent component) =>
        component == ModelComponent.TextEncoder ? "model.safetensors" : "diffusion_pytorch_model.safetensors";
}

/// <summary>
/// How tensor names are spelled: the original single-file (LDM) layout, diffusers', or plain: names no
/// Stable Diffusion layout knows (SDXL, Flux, language models, anything), taken exactly as they are.
/// </summary>
public enum CheckpointLayout
{
    Original,
    Diffusers,
    Plain,
}
