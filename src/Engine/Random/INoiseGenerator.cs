namespace Dsoup.Engine.Random;

/// <summary>
/// A stream of standard normal samples with a state, as a torch.Generator: consecutive calls continue
/// the stream, so the same seed and the same sequence of draws give the same numbers as the tool it mimics.
/// </summary>
public interface INoiseGenerator
{
    /// <summary>Fills <paramref name="destination"/> as one torch.randn call of that many elements would.</summary>
    void Normal(Span<float> destination);
}

/// <summary>The generators users know from other tools, by the names of <c>--rng</c>.</summary>
public enum NoiseRng
{
    /// <summary>PyTorch's CUDA generator (Philox), as A1111 and stable-diffusion.cpp reproduce it on any device.</summary>
    Philox,

    /// <summary>PyTorch's CPU generator (mt19937), as diffusers on CPU and ComfyUI draw noise.</summary>
    TorchCpu,
}

public static class NoiseGenerators
{
    public static INoiseGenerator Create(NoiseRng rng, ulong seed) => rng switch
    {
        NoiseRng.Philox => new PhiloxNoise(seed),
        _ => new TorchCpuNoise(seed),
    };

    public static NoiseRng Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "philox" or "cuda" => NoiseRng.Philox,
        "torch-cpu" or "cpu" => NoiseRng.TorchCpu,
        _ => throw new ArgumentException($"unknown --rng '{name}': expected philox (PyTorch's CUDA generator) or torch-cpu (PyTorch's CPU generator)"),
    };
}
