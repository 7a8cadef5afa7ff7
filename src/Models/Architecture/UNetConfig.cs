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

    /// <summary>SD 2.x (512 ε and 768 v models share it).</summary>
    public static UNetConfig StableDiffusion2 { get; } = new(4, 4, [320, 640, 1280, 1280], 2, 1024, true, 3);

    public int TimeEmbeddingDim => BlockOutChannels[0] * 4;

    public int Levels => BlockOutChannels.Length;

    public bool DownHasAttention(int level) => level < CrossAttentionDownBlocks;

    public bool UpHasAttention(int level) => Levels - 1 - level < CrossAttentionDownBlocks;
}
