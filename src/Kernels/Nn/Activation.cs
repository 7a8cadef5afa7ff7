namespace Dsoup.Kernels.Nn;

/// <summary>Pointwise nonlinearities of the diffusion models (reference/sd-architecture.md §9).</summary>
public enum Activation
{
    /// <summary>x·σ(x): UNet and VAE.</summary>
    Silu,

    /// <summary>0.5·x·(1 + erf(x/√2)), exact (no tanh approximation): GEGLU, OpenCLIP.</summary>
    Gelu,

    /// <summary>x·σ(1.702·x): OpenAI CLIP (SD1 text encoder).</summary>
    QuickGelu,
}
