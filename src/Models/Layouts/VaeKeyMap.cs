using System.Text.RegularExpressions;

namespace Dsoup.Models.Layouts;

/// <summary>
/// AutoencoderKL ↔ LDM "first_stage_model." names. The decoder's up blocks are numbered in reverse
/// in the original layout (diffusers up i = LDM up 3−i), and the mid-block attention projections are
/// 1×1 convolutions there ([C, C, 1, 1]) but linear layers ([C, C]) in diffusers. Legacy diffusers
/// names (query/key/value/proj_attn) are read as to_q/to_k/to_v/to_out.0.
/// </summary>
public sealed partial class VaeKeyMap : IComponentKeyMap
{
    private const int Levels = 4;

    private static readonly (string Diffusers, string Original)[] Attention =
    [
        ("group_norm", "norm"), ("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out"),
    ];

    private static readonly (string Legacy, string Current)[] LegacyAttention =
    [
        ("query", "to_q"), ("key", "to_k"), ("value", "to_v"), ("proj_attn", "to_out.0"),
    ];

    public ModelComponent Component => ModelComponent.Vae;

    public string OriginalPrefix => "first_stage_model.";

    /// <summary>Rewrites legacy attention names (diffusers 0.6-era VAEs) to the current ones.</summary>
    public static string Modernize(string key)
    {
        Match m = LegacyName().Match(key);
        if (!m.Success)
        {
            return key;
        }
        string current = LegacyAttention.First(n => n.Legacy == m.Groups[2].Value).Current;
        return $"{m.Groups[1].Value}{current}.{m.Groups[3].Value}";
    }

    public KeyPart? ToOriginal(string key)
    {
        string? name = ToOriginalName(Modernize(key));
        return name is null ? null : new KeyPart(name, 0, 1);
    }

    public IReadOnlyList<KeyPart>? ToDiffusers(string key)
    {
        string? name = ToDiffusersName(key);
        return name is null ? null : [new KeyPart(name, 0, 1)];
    }

    public long[] OriginalShape(string diffusersKey, long[] shape) =>
        IsAttentionProjection(Modernize(diffusersKey)) && shape.Length == 2 ? [shape[0], shape[1], 1, 1] : shape;

    public long[] DiffusersShape(string originalKey, long[] shape) =>
        OriginalProjection().IsMatch(originalKey) && shape.Length == 4 && shape[2] == 1 && shape[3] == 1 ? [shape[0], shape[1]] : shape;

    private static bool IsAttentionProjection(string key) => DiffusersProjection().IsMatch(key);

    private static string? ToOriginalName(string key)
    {
        Match m;
        if ((m = Resnet().Match(key)).Success)
        {
            int i = int.Parse(m.Groups[3].Value);
            string side = m.Groups[1].Value;
            return i < Levels ? $"{side}.{(side == "decoder" ? "up" : "down")}.{(side == "decoder" ? Levels - 1 - i : i)}.block.{m.Groups[4].Value}.{ResnetPart(m.Groups[5].Value, toOriginal: true)}" : null;
        }
        if ((m = Sampler().Match(key)).Success)
        {
            int i = int.Parse(m.Groups[2].Value);
            return m.Groups[1].Value == "encoder"
                ? $"encoder.down.{i}.downsample.conv.{m.Groups[3].Value}"
                : $"decoder.up.{Levels - 1 - i}.upsample.conv.{m.Groups[3].Value}";
        }
        if ((m = MidResnet().Match(key)).Success)
        {
            return $"{m.Groups[1].Value}.mid.block_{int.Parse(m.Groups[2].Value) + 1}.{ResnetPart(m.Groups[3].Value, toOriginal: true)}";
        }
        if ((m = MidAttention().Match(key)).Success)
        {
            string? part = Attention.Where(a => a.Diffusers == m.Groups[2].Value).Select(a => a.Original).FirstOrDefault();
            return part is null ? null : $"{m.Groups[1].Value}.mid.attn_1.{part}.{m.Groups[3].Value}";
        }
        if ((m = Plain().Match(key)).Success)
        {
            return m.Groups[1].Value.Replace("conv_norm_out", "norm_out", StringComparison.Ordinal) + "." + m.Groups[2].Value;
        }
        return null;
    }

    private static string? ToDiffusersName(string key)
    {
        Match m;
        if ((m = OriginalResnet().Match(key)).Success)
        {
            int i = int.Parse(m.Groups[3].Value);
            bool decoder = m.Groups[1].Value == "decoder";
            if (i >= Levels || (decoder != (m.Groups[2].Value == "up")))
            {
                return null;
            }
            return $"{m.Groups[1].Value}.{(decoder ? "up" : "down")}_blocks.{(decoder ? Levels - 1 - i : i)}.resnets.{m.Groups[4].Value}.{ResnetPart(m.Groups[5].Value, toOriginal: false)}";
        }
        if ((m = OriginalSampler().Match(key)).Success)
        {
            int i = int.Parse(m.Groups[2].Value);
            if (i >= Levels)
            {
                return null;
            }
            return m.Groups[1].Value == "encoder.down"
                ? $"encoder.down_blocks.{i}.downsamplers.0.conv.{m.Groups[3].Value}"
                : $"decoder.up_blocks.{Levels - 1 - i}.upsamplers.0.conv.{m.Groups[3].Value}";
        }
        if ((m = OriginalMidResnet().Match(key)).Success)
        {
            return $"{m.Groups[1].Value}.mid_block.resnets.{int.Parse(m.Groups[2].Value) - 1}.{ResnetPart(m.Groups[3].Value, toOriginal: false)}";
        }
        if ((m = OriginalMidAttention().Match(key)).Success)
        {
            string? part = Attention.Where(a => a.Original == m.Groups[2].Value).Select(a => a.Diffusers).FirstOrDefault();
            return part is null ? null : $"{m.Groups[1].Value}.mid_block.attentions.0.{part}.{m.Groups[3].Value}";
        }
        if ((m = OriginalPlain().Match(key)).Success)
        {
            return m.Groups[1].Value.Replace("norm_out", "conv_norm_out", StringComparison.Ordinal) + "." + m.Groups[2].Value;
        }
        return null;
    }

    private static string ResnetPart(string rest, bool toOriginal) => toOriginal
        ? rest.Replace("conv_shortcut.", "nin_shortcut.", StringComparison.Ordinal)
        : rest.Replace("nin_shortcut.", "conv_shortcut.", StringComparison.Ordinal);

    [GeneratedRegex(@"^(.*attentions\.0\.)(query|key|value|proj_attn)\.(weight|bias)$")]
    private static partial Regex LegacyName();

    [GeneratedRegex(@"^(encoder|decoder)\.(down|up)_blocks\.(\d+)\.resnets\.(\d+)\.((?:norm[12]|conv[12]|conv_shortcut)\.(?:weight|bias))$")]
    private static partial Regex Resnet();

    [GeneratedRegex(@"^(encoder|decoder)\.(?:down|up)_blocks\.(\d+)\.(?:down|up)samplers\.0\.conv\.(weight|bias)$")]
    private static partial Regex Sampler();

    [GeneratedRegex(@"^(encoder|decoder)\.mid_block\.resnets\.([01])\.((?:norm[12]|conv[12])\.(?:weight|bias))$")]
    private static partial Regex MidResnet();

    [GeneratedRegex(@"^(encoder|decoder)\.mid_block\.attentions\.0\.(group_norm|to_q|to_k|to_v|to_out\.0)\.(weight|bias)$")]
    private static partial Regex MidAttention();

    [GeneratedRegex(@"^mid_block\.attentions\.0\.(?:to_q|to_k|to_v|to_out\.0)\.weight$|\.mid_block\.attentions\.0\.(?:to_q|to_k|to_v|to_out\.0)\.weight$")]
    private static partial Regex DiffusersProjection();

    [GeneratedRegex(@"^((?:encoder|decoder)\.(?:conv_in|conv_out|conv_norm_out)|quant_conv|post_quant_conv)\.(weight|bias)$")]
    private static partial Regex Plain();

    [GeneratedRegex(@"^(encoder|decoder)\.(down|up)\.(\d+)\.block\.(\d+)\.((?:norm[12]|conv[12]|nin_shortcut)\.(?:weight|bias))$")]
    private static partial Regex OriginalResnet();

    [GeneratedRegex(@"^(encoder\.down|decoder\.up)\.(\d+)\.(?:downsample|upsample)\.conv\.(weight|bias)$")]
    private static partial Regex OriginalSampler();

    [GeneratedRegex(@"^(encoder|decoder)\.mid\.block_([12])\.((?:norm[12]|conv[12])\.(?:weight|bias))$")]
    private static partial Regex OriginalMidResnet();

    [GeneratedRegex(@"^(encoder|decoder)\.mid\.attn_1\.(norm|q|k|v|proj_out)\.(weight|bias)$")]
    private static partial Regex OriginalMidAttention();

    [GeneratedRegex(@"^mid\.attn_1\.(?:q|k|v|proj_out)\.weight$|\.mid\.attn_1\.(?:q|k|v|proj_out)\.weight$")]
    private static partial Regex OriginalProjection();

    [GeneratedRegex(@"^((?:encoder|decoder)\.(?:conv_in|conv_out|norm_out)|quant_conv|post_quant_conv)\.(weight|bias)$")]
    private static partial Regex OriginalPlain();
}
