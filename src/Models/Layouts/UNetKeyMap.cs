using System.Text.RegularExpressions;
using Dsoup.Models.Architecture;

namespace Dsoup.Models.Layouts;

/// <summary>
/// UNet2DConditionModel ↔ LDM "model.diffusion_model." names. Down level i, resnet/attention j sits in
/// input block (L+1)·i + j + 1 (L = layers per block) and its downsampler in (L+1)·(i+1); up level i,
/// layer j in output block (L+1)·i + j, the upsampler after the block's resnet (index 1) or attention (2).
/// </summary>
public sealed partial class UNetKeyMap(UNetConfig config) : IComponentKeyMap
{
    private static readonly (string Diffusers, string Original)[] ResnetNames =
    [
        ("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("time_emb_proj", "emb_layers.1"),
        ("norm2", "out_layers.0"), ("conv2", "out_layers.3"), ("conv_shortcut", "skip_connection"),
    ];

    private int Stride => config.LayersPerBlock + 1;

    public ModelComponent Component => ModelComponent.Unet;

    public string OriginalPrefix => "model.diffusion_model.";

    public KeyPart? ToOriginal(string key)
    {
        string? original = ToOriginalName(key);
        return original is null ? null : new KeyPart(original, 0, 1);
    }

    public IReadOnlyList<KeyPart>? ToDiffusers(string key)
    {
        string? name = ToDiffusersName(key);
        return name is null ? null : [new KeyPart(name, 0, 1)];
    }

    private string? ToOriginalName(string key)
    {
        Match m;
        if ((m = Simple().Match(key)).Success)
        {
            return m.Groups[1].Value switch
            {
                "conv_in" => "input_blocks.0.0",
                "time_embedding.linear_1" => "time_embed.0",
                "time_embedding.linear_2" => "time_embed.2",
                "conv_norm_out" => "out.0",
                _ => "out.2",
            } + "." + m.Groups[2].Value;
        }
        if ((m = Block().Match(key)).Success)
        {
            string side = m.Groups[1].Value;
            int i = int.Parse(m.Groups[2].Value), j = int.Parse(m.Groups[4].Value);
            string kind = m.Groups[3].Value, rest = m.Groups[5].Value;
            bool down = side == "down";
            if (i >= config.Levels || j >= (down ? config.LayersPerBlock : config.LayersPerBlock + 1))
            {
                return null;
            }
            int block = down ? Stride * i + j + 1 : Stride * i + j;
            string container = down ? "input_blocks" : "output_blocks";
            return kind == "resnets"
                ? ResnetToOriginal(rest) is string r ? $"{container}.{block}.0.{r}" : null
                : (down ? config.DownHasAttention(i) : config.UpHasAttention(i)) ? $"{container}.{block}.1.{rest}" : null;
        }
        if ((m = Sampler().Match(key)).Success)
        {
            int i = int.Parse(m.Groups[2].Value);
            if (i >= config.Levels - 1)
            {
                return null;
            }
            return m.Groups[1].Value == "down"
                ? $"input_blocks.{Stride * (i + 1)}.0.op.{m.Groups[3].Value}"
                : $"output_blocks.{Stride * i + config.LayersPerBlock}.{(config.UpHasAttention(i) ? 2 : 1)}.conv.{m.Groups[3].Value}";
        }
        if ((m = Middle().Match(key)).Success)
        {
            return m.Groups[1].Value switch
            {
                "resnets.0" => ResnetToOriginal(m.Groups[2].Value) is string r0 ? $"middle_block.0.{r0}" : null,
                "resnets.1" => ResnetToOriginal(m.Groups[2].Value) is string r1 ? $"middle_block.2.{r1}" : null,
                _ => $"middle_block.1.{m.Groups[2].Value}",
            };
        }
        return null;
    }

    private string? ToDiffusersName(string key)
    {
        Match m;
        if ((m = OriginalSimple().Match(key)).Success)
        {
            return m.Groups[1].Value switch
            {
                "input_blocks.0.0" => "conv_in",
                "time_embed.0" => "time_embedding.linear_1",
                "time_embed.2" => "time_embedding.linear_2",
                "out.0" => "conv_norm_out",
                _ => "conv_out",
            } + "." + m.Groups[2].Value;
        }
        if ((m = OriginalBlock().Match(key)).Success)
        {
            bool down = m.Groups[1].Value == "input";
            int n = int.Parse(m.Groups[2].Value), slot = int.Parse(m.Groups[3].Value);
            string rest = m.Groups[4].Value;
            int i = down ? (n - 1) / Stride : n / Stride;
            int j = down ? (n - 1) % Stride : n % Stride;
            if ((down && n == 0) || i >= config.Levels)
            {
                return null;
            }
            if (down && j == config.LayersPerBlock)
            {
                return slot == 0 && rest.StartsWith("op.", StringComparison.Ordinal) && i < config.Levels - 1
                    ? $"down_blocks.{i}.downsamplers.0.conv.{rest[3..]}"
                    : null;
            }
            string side = down ? "down" : "up";
            bool attention = down ? config.DownHasAttention(i) : config.UpHasAttention(i);
            if (slot == 0)
            {
                return ResnetToDiffusers(rest) is string r ? $"{side}_blocks.{i}.resnets.{j}.{r}" : null;
            }
            if (slot == 1 && attention)
            {
                return $"{side}_blocks.{i}.attentions.{j}.{rest}";
            }
            bool upsampler = !down && j == config.LayersPerBlock && i < config.Levels - 1 && slot == (attention ? 2 : 1);
            return upsampler && rest.StartsWith("conv.", StringComparison.Ordinal) ? $"up_blocks.{i}.upsamplers.0.{rest}" : null;
        }
        if ((m = OriginalMiddle().Match(key)).Success)
        {
            return m.Groups[1].Value switch
            {
                "0" => ResnetToDiffusers(m.Groups[2].Value) is string r0 ? $"mid_block.resnets.0.{r0}" : null,
                "2" => ResnetToDiffusers(m.Groups[2].Value) is string r2 ? $"mid_block.resnets.1.{r2}" : null,
                _ => $"mid_block.attentions.0.{m.Groups[2].Value}",
            };
        }
        return null;
    }

    private static string? ResnetToOriginal(string rest) => Rename(rest, ResnetNames.Select(n => (n.Diffusers, n.Original)));

    private static string? ResnetToDiffusers(string rest) => Rename(rest, ResnetNames.Select(n => (n.Original, n.Diffusers)));

    private static string? Rename(string rest, IEnumerable<(string From, string To)> names)
    {
        foreach ((string from, string to) in names)
        {
            if (rest.StartsWith(from + ".", StringComparison.Ordinal))
            {
                return to + rest[from.Length..];
            }
        }
        return null;
    }

    [GeneratedRegex(@"^(conv_in|time_embedding\.linear_[12]|conv_norm_out|conv_out)\.(weight|bias)$")]
    private static partial Regex Simple();

    [GeneratedRegex(@"^(down|up)_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$")]
    private static partial Regex Block();

    [GeneratedRegex(@"^(down|up)_blocks\.(\d+)\.(?:down|up)samplers\.0\.conv\.(weight|bias)$")]
    private static partial Regex Sampler();

    [GeneratedRegex(@"^mid_block\.(resnets\.[01]|attentions\.0)\.(.+)$")]
    private static partial Regex Middle();

    [GeneratedRegex(@"^(input_blocks\.0\.0|time_embed\.[02]|out\.[02])\.(weight|bias)$")]
    private static partial Regex OriginalSimple();

    [GeneratedRegex(@"^(input|output)_blocks\.(\d+)\.(\d+)\.(.+)$")]
    private static partial Regex OriginalBlock();

    [GeneratedRegex(@"^middle_block\.([012])\.(.+)$")]
    private static partial Regex OriginalMiddle();
}
