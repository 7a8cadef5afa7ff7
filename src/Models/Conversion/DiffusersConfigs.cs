using System.Text.Json;
using System.Text.Json.Nodes;
using Dsoup.Models.Architecture;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Conversion;

/// <summary>
/// The config.json files diffusers needs to load a pipeline folder, for components of a recognised
/// SD 1.x/2.x family, plus model_index.json. Files the source folder already had are copied instead.
/// Tokenizer and scheduler files cannot be invented: they are copied when the source has them.
/// </summary>
public static class DiffusersConfigs
{
    public static void Write(string folder, IReadOnlyList<ModelTensor> tensors, ModelFamily? family, string? sourceFolder)
    {
        if (sourceFolder is not null && Directory.Exists(sourceFolder))
        {
            CopyNonWeightFiles(sourceFolder, folder);
        }
        if (family is null || family.Name.StartsWith("tiny", StringComparison.Ordinal))
        {
            return; // only the published SD architectures have configs diffusers can rebuild them from
        }
        var present = tensors.Where(t => t.Component is not null).Select(t => t.Component!.Value).ToHashSet();
        bool sd2 = family.TextEncoderKind == TextEncoderKind.OpenClipH;
        if (present.Contains(ModelComponent.Unet))
        {
            WriteIfMissing(folder, "unet/config.json", Unet(sd2, family.Unet.InChannels));
        }
        if (present.Contains(ModelComponent.Vae))
        {
            WriteIfMissing(folder, "vae/config.json", Vae());
        }
        if (present.Contains(ModelComponent.TextEncoder))
        {
            WriteIfMissing(folder, "text_encoder/config.json", TextEncoder(sd2));
        }
        if (present.Count == 3)
        {
            WriteIfMissing(folder, "model_index.json", new JsonObject
            {
                ["_class_name"] = "StableDiffusionPipeline",
                ["unet"] = new JsonArray("diffusers", "UNet2DConditionModel"),
                ["vae"] = new JsonArray("diffusers", "AutoencoderKL"),
                ["text_encoder"] = new JsonArray("transformers", "CLIPTextModel"),
                ["tokenizer"] = new JsonArray("transformers", "CLIPTokenizer"),
                ["scheduler"] = new JsonArray("diffusers", sd2 ? "DDIMScheduler" : "PNDMScheduler"),
                ["safety_checker"] = new JsonArray(null, null),
                ["feature_extractor"] = new JsonArray(null, null),
                ["requires_safety_checker"] = false,
            });
        }
    }

    private static JsonObject Unet(bool sd2, long inChannels) => new()
    {
        ["_class_name"] = "UNet2DConditionModel",
        ["act_fn"] = "silu",
        ["attention_head_dim"] = sd2 ? new JsonArray(5, 10, 20, 20) : 8,
        ["block_out_channels"] = new JsonArray(320, 640, 1280, 1280),
        ["center_input_sample"] = false,
        ["cross_attention_dim"] = sd2 ? 1024 : 768,
        ["down_block_types"] = new JsonArray("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        ["downsample_padding"] = 1,
        ["flip_sin_to_cos"] = true,
        ["freq_shift"] = 0,
        ["in_channels"] = inChannels,
        ["layers_per_block"] = 2,
        ["mid_block_scale_factor"] = 1,
        ["norm_eps"] = 1e-5,
        ["norm_num_groups"] = 32,
        ["out_channels"] = 4,
        ["sample_size"] = 64,
        ["up_block_types"] = new JsonArray("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        ["use_linear_projection"] = sd2,
    };

    private static JsonObject Vae() => new()
    {
        ["_class_name"] = "AutoencoderKL",
        ["act_fn"] = "silu",
        ["block_out_channels"] = new JsonArray(128, 256, 512, 512),
        ["down_block_types"] = new JsonArray("DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"),
        ["in_channels"] = 3,
        ["latent_channels"] = 4,
        ["layers_per_block"] = 2,
        ["norm_num_groups"] = 32,
        ["out_channels"] = 3,
        ["sample_size"] = 512,
        ["scaling_factor"] = 0.18215,
        ["up_block_types"] = new JsonArray("UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"),
    };

    private static JsonObject TextEncoder(bool openClip) => new()
    {
        ["architectures"] = new JsonArray("CLIPTextModel"),
        ["model_type"] = "clip_text_model",
        ["hidden_act"] = openClip ? "gelu" : "quick_gelu",
        ["hidden_size"] = openClip ? 1024 : 768,
        ["intermediate_size"] = openClip ? 4096 : 3072,
        ["num_attention_heads"] = openClip ? 16 : 12,
        ["num_hidden_layers"] = openClip ? 23 : 12,
        ["projection_dim"] = openClip ? 512 : 768,
        ["layer_norm_eps"] = 1e-5,
        ["max_position_embeddings"] = 77,
        ["vocab_size"] = 49408,
        ["bos_token_id"] = 0,
        ["eos_token_id"] = 2,
        ["pad_token_id"] = 1,
    };

    private static void WriteIfMissing(string folder, string relative, JsonNode content)
    {
        string path = Path.Combine(folder, relative);
        if (File.Exists(path))
        {
            return;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    private static void CopyNonWeightFiles(string source, string destination)
    {
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string extension = Path.GetExtension(file).ToLowerInvariant();
            if (extension is ".safetensors" or ".bin" or ".ckpt" or ".pt" or ".pth" or ".partial" || file.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            string target = Path.Combine(destination, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }
}
