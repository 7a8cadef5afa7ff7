namespace Dsoup.Models.Architecture;

/// <summary>
/// The UNet2DConditionModel hyper-parameters that decide its tensors (diffusers config.json names).
/// Down blocks with cross-attention are the first <see cref="CrossAttentionDownBlocks"/>; up blocks
/// mirror them (the last ones have attention).
/// </summary>
public sealed record UNetConfig(
    int InChannels,
    int OutChannels,
    int[] BlockOutChannels,
    int LayersPerBlock,
    int CrossAttentionDim,
    bool UseLinearProjection,
    int CrossAttentionDownBlocks)
{
    /// <summary>SD 1.x (and its 9-channel inpainting variant with <c>InChannels = 9</c>).</summary>
    public static UNetConfig StableDiffusion1 { get; } = new(4, 4, [320, 640, 1280, 1280], 2, 768, false, 3);

    /// <summary>SD 2.x (512 ε and 768 v models share it): heads of 64 channels.</summary>
    public static UNetConfig StableDiffusion2 { get; } = new(4, 4, [320, 640, 1280, 1280], 2, 1024, true, 3) { AttentionHeads = [5, 10, 20, 20] };

    /// <summary>
    /// Attention heads per level (diffusers' <c>attention_head_dim</c>, which despite its name counts heads in
    /// SD configs); the mid block uses the last level's.
    /// </summary>
    public int[] AttentionHeads { get; init; } = Enumerable.Repeat(8, BlockOutChannels.Length).ToArray();

    public int NormGroups { get; init; } = 32;

    public float NormEps { get; init; } = 1e-5f;

    /// <summary>The sinusoidal timestep embedding's settings (SD: cos first, no shift).</summary>
    public bool FlipSinToCos { get; init; } = true;

    public float FreqShift { get; init; }

    public int TimeEmbeddingDim => BlockOutChannels[0] * 4;

    public int Levels => BlockOutChannels.Length;

    public bool DownHasAttention(int level) => level < CrossAttentionDownBlocks;

    public bool UpHasAttention(int level) => Levels - 1 - level < CrossAttentionDownBlocks;
}
