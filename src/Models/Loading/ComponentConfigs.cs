using System.Text.Json;
using Dsoup.Models.Architecture;

namespace Dsoup.Models.Loading;

/// <summary>
/// Reads the config.json diffusers and transformers write beside each component's weights into dsoup's
/// configurations, refusing what the engine does not run (SDXL's extra embeddings, several transformer layers
/// per block, attention-free down levels before attention ones) with the file and the setting named.
/// </summary>
public static class ComponentConfigs
{
    public static UNetConfig ReadUNet(string path)
    {
        JsonElement c = Parse(path);
        foreach (string unsupported in new[] { "class_embed_type", "addition_embed_type", "encoder_hid_dim", "time_cond_proj_dim" })
        {
            if (Optional(c, unsupported) is JsonElement value && value.ValueKind != JsonValueKind.Null)
            {
                throw new NotSupportedException($"{path}: '{unsupported}' is set; dsoup runs SD 1.x/2.x-style UNets without it");
            }
        }
        if (Optional(c, "transformer_layers_per_block") is JsonElement layers && layers.ValueKind == JsonValueKind.Number && layers.GetInt32() != 1)
        {
            throw new NotSupportedException($"{path}: transformer_layers_per_block {layers.GetInt32()} (dsoup runs 1)");
        }
        int[] channels = Ints(c, "block_out_channels", path);
        string[] downTypes = Required(c, "down_block_types", path).EnumerateArray().Select(e => e.GetString()!).ToArray();
        int crossAttention = downTypes.TakeWhile(t => t == "CrossAttnDownBlock2D").Count();
        if (downTypes.Skip(crossAttention).Any(t => t != "DownBlock2D") || downTypes.Length != channels.Length)
        {
            throw new NotSupportedException($"{path}: down_block_types [{string.Join(", ", downTypes)}]: dsoup runs CrossAttnDownBlock2D levels followed by DownBlock2D levels");
        }
        JsonElement heads = Optional(c, "num_attention_heads") is JsonElement explicitHeads && explicitHeads.ValueKind != JsonValueKind.Null
            ? explicitHeads
            : Required(c, "attention_head_dim", path);
        return new UNetConfig(
            Int(c, "in_channels", path), Int(c, "out_channels", path), channels, Int(c, "layers_per_block", path),
            Int(c, "cross_attention_dim", path), Optional(c, "use_linear_projection")?.GetBoolean() ?? false, crossAttention)
        {
            AttentionHeads = heads.ValueKind == JsonValueKind.Array
                ? heads.EnumerateArray().Select(e => e.GetInt32()).ToArray()
                : Enumerable.Repeat(heads.GetInt32(), channels.Length).ToArray(),
            NormGroups = Optional(c, "norm_num_groups")?.GetInt32() ?? 32,
            NormEps = Optional(c, "norm_eps")?.GetSingle() ?? 1e-5f,
            FlipSinToCos = Optional(c, "flip_sin_to_cos")?.GetBoolean() ?? true,
            FreqShift = Optional(c, "freq_shift")?.GetSingle() ?? 0f,
        };
    }

    public static VaeConfig ReadVae(string path)
    {
        JsonElement c = Parse(path);
        return new VaeConfig(Int(c, "in_channels", path), Int(c, "latent_channels", path), Ints(c, "block_out_channels", path), Int(c, "layers_per_block", path))
        {
            NormGroups = Optional(c, "norm_num_groups")?.GetInt32() ?? 32,
            ScalingFactor = Optional(c, "scaling_factor")?.GetSingle() ?? 0.18215f,
        };
    }

    public static TextEncoderConfig ReadTextEncoder(string path)
    {
        JsonElement c = Parse(path);
        return new TextEncoderConfig(Int(c, "hidden_size", path), Int(c, "intermediate_size", path), Int(c, "num_hidden_layers", path),
            Int(c, "vocab_size", path), Int(c, "max_position_embeddings", path))
        {
            Heads = Int(c, "num_attention_heads", path),
            Activation = Optional(c, "hidden_act")?.GetString() ?? "quick_gelu",
            LayerNormEps = Optional(c, "layer_norm_eps")?.GetSingle() ?? 1e-5f,
        };
    }

    private static JsonElement Parse(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllText(path)).RootElement;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e);
        }
    }

    private static JsonElement? Optional(JsonElement c, string name) => c.TryGetProperty(name, out JsonElement value) ? value : null;

    private static JsonElement Required(JsonElement c, string name, string path) =>
        Optional(c, name) ?? throw new InvalidDataException($"{path}: the config has no '{name}'");

    private static int Int(JsonElement c, string name, string path) => Required(c, name, path).GetInt32();

    private static int[] Ints(JsonElement c, string name, string path) => Required(c, name, path).EnumerateArray().Select(e => e.GetInt32()).ToArray();
}
