using Dsoup.Engine.Devices;
using Dsoup.Kernels;
using Dsoup.Models.Schedulers;

namespace Dsoup.Models.Pipelines;

/// <summary>How to load a Stable Diffusion model for sampling.</summary>
public sealed record ModelLoadOptions
{
    public Device? Device { get; init; }

    /// <summary>The dtype weights and activations use (f32 by default; f16/bf16 halve the memory).</summary>
    public DType DType { get; init; } = DType.F32;

    /// <summary>A folder with CLIP's vocab.json and merges.txt, for single-file checkpoints (which carry none).</summary>
    public string? TokenizerFolder { get; init; }

    /// <summary>A VAE checkpoint to use instead of the model's own (--vae).</summary>
    public string? VaePath { get; init; }

    /// <summary>What the model predicts, where its files do not say (single files; SD 2.x 768 models are v).</summary>
    public PredictionType? Prediction { get; init; }

    /// <summary>Load the VAE encoder too (image-to-image); text-to-image needs only the decoder.</summary>
    public bool WithVaeEncoder { get; init; } = true;
}
