namespace Dsoup.Models.Architecture;

/// <summary>
/// A CLIPTextModel's size. SD 1.x uses OpenAI CLIP ViT-L/14 (768 wide, 12 layers); SD 2.x the
/// OpenCLIP ViT-H/14 tower cut to its first 23 of 24 layers (1024 wide), as diffusers stores it.
/// </summary>
public sealed record TextEncoderConfig(int Hidden, int Intermediate, int Layers, int Vocabulary, int Positions)
{
    /// <summary>Attention heads: 64 channels each in both real encoders.</summary>
    public int Heads { get; init; } = Math.Max(1, Hidden / 64);

    /// <summary>transformers' hidden_act: quick_gelu (OpenAI CLIP, SD 1.x) or gelu (OpenCLIP, SD 2.x).</summary>
    public string Activation { get; init; } = Hidden == 1024 ? "gelu" : "quick_gelu";

    public float LayerNormEps { get; init; } = 1e-5f;

    public static TextEncoderConfig ClipL { get; } = new(768, 3072, 12, 49408, 77);

    public static TextEncoderConfig OpenClipH { get; } = new(1024, 4096, 23, 49408, 77);
}

/// <summary>Every tensor of a CLIPTextModel, in transformers naming (text_model.*).</summary>
public static class TextEncoderParameters
{
    public static IReadOnlyList<ParameterSpec> For(TextEncoderConfig c)
    {
        var p = new ParameterList();
        p.Add("text_model.embeddings.token_embedding.weight", c.Vocabulary, c.Hidden);
        p.Add("text_model.embeddings.position_embedding.weight", c.Positions, c.Hidden);
        for (int i = 0; i < c.Layers; i++)
        {
            string layer = $"text_model.encoder.layers.{i}";
            foreach (string projection in new[] { "q_proj", "k_proj", "v_proj", "out_proj" })
            {
                p.Linear($"{layer}.self_attn.{projection}", c.Hidden, c.Hidden);
            }
            p.Norm($"{layer}.layer_norm1", c.Hidden);
            p.Linear($"{layer}.mlp.fc1", c.Intermediate, c.Hidden);
            p.Linear($"{layer}.mlp.fc2", c.Hidden, c.Intermediate);
            p.Norm($"{layer}.layer_norm2", c.Hidden);
        }
        p.Norm("text_model.final_layer_norm", c.Hidden);
        return p.Specs;
    }
}
