using System.Text.RegularExpressions;

namespace Dsoup.Models.Layouts;

/// <summary>
/// SD 2.x text encoder: the OpenCLIP ViT-H/14 tower ("cond_stage_model.model.") ↔ a 23-layer
/// CLIPTextModel. Each block's packed attention in_proj (rows q | k | v) becomes three tensors.
/// The tower's last block (index 23), text_projection and logit_scale have no diffusers place.
/// </summary>
public sealed partial class OpenClipKeyMap : IComponentKeyMap
{
    /// <summary>Layers the diffusers text encoder keeps: SD 2 reads the penultimate block's output.</summary>
    public const int Layers = 23;

    private static readonly (string Diffusers, string Original)[] LayerNames =
    [
        ("self_attn.out_proj", "attn.out_proj"), ("layer_norm1", "ln_1"), ("layer_norm2", "ln_2"),
        ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj"),
    ];

    private static readonly string[] Projections = ["q_proj", "k_proj", "v_proj"];

    public ModelComponent Component => ModelComponent.TextEncoder;

    public string OriginalPrefix => "cond_stage_model.model.";

    public IReadOnlyList<KeyPart>? ToDiffusers(string key)
    {
        switch (key)
        {
            case "token_embedding.weight":
                return [new KeyPart("text_model.embeddings.token_embedding.weight", 0, 1)];
            case "positional_embedding":
                return [new KeyPart("text_model.embeddings.position_embedding.weight", 0, 1)];
            case "ln_final.weight" or "ln_final.bias":
                return [new KeyPart("text_model.final_layer_norm." + key[9..], 0, 1)];
        }
        Match m = Block().Match(key);
        if (!m.Success || int.Parse(m.Groups[1].Value) >= Layers)
        {
            return null;
        }
        string layer = $"text_model.encoder.layers.{m.Groups[1].Value}";
        string rest = m.Groups[2].Value;
        if (rest is "attn.in_proj_weight" or "attn.in_proj_bias")
        {
            string suffix = rest.EndsWith("weight", StringComparison.Ordinal) ? "weight" : "bias";
            return Projections.Select((p, i) => new KeyPart($"{layer}.self_attn.{p}.{suffix}", i, Projections.Length)).ToList();
        }
        foreach ((string diffusers, string original) in LayerNames)
        {
            if (rest.StartsWith(original + ".", StringComparison.Ordinal))
            {
                return [new KeyPart($"{layer}.{diffusers}{rest[original.Length..]}", 0, 1)];
            }
        }
        return null;
    }

    public KeyPart? ToOriginal(string diffusersKey)
    {
        string key = ClipKeyMap.Normalize(diffusersKey);
        switch (key)
        {
            case "text_model.embeddings.token_embedding.weight":
                return new KeyPart("token_embedding.weight", 0, 1);
            case "text_model.embeddings.position_embedding.weight":
                return new KeyPart("positional_embedding", 0, 1);
            case "text_model.final_layer_norm.weight" or "text_model.final_layer_norm.bias":
                return new KeyPart("ln_final." + key[^(key.EndsWith("weight", StringComparison.Ordinal) ? 6 : 4)..], 0, 1);
        }
        Match m = Layer().Match(key);
        if (!m.Success || int.Parse(m.Groups[1].Value) >= Layers)
        {
            return null;
        }
        string block = $"transformer.resblocks.{m.Groups[1].Value}";
        string rest = m.Groups[2].Value;
        for (int i = 0; i < Projections.Length; i++)
        {
            if (rest.StartsWith($"self_attn.{Projections[i]}.", StringComparison.Ordinal))
            {
                return new KeyPart($"{block}.attn.in_proj_{rest[(rest.LastIndexOf('.') + 1)..]}", i, Projections.Length);
            }
        }
        foreach ((string diffusers, string original) in LayerNames)
        {
            if (rest.StartsWith(diffusers + ".", StringComparison.Ordinal))
            {
                return new KeyPart($"{block}.{original}{rest[diffusers.Length..]}", 0, 1);
            }
        }
        return null;
    }

    [GeneratedRegex(@"^transformer\.resblocks\.(\d+)\.(.+)$")]
    private static partial Regex Block();

    [GeneratedRegex(@"^text_model\.encoder\.layers\.(\d+)\.(.+)$")]
    private static partial Regex Layer();
}
