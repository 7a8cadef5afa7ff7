namespace Dsoup.Models.Architecture;

/// <summary>AutoencoderKL hyper-parameters that decide its tensors (identical for SD 1.x and 2.x).</summary>
public sealed record VaeConfig(int InChannels, int LatentChannels, int[] BlockOutChannels, int LayersPerBlock)
{
    public int NormGroups { get; init; } = 32;

    /// <summary>Latents are the encoder's sample times this (ldm's scale_factor; 0.18215 in SD 1.x and 2.x).</summary>
    public float ScalingFactor { get; init; } = 0.18215f;

    public static VaeConfig StableDiffusion { get; } = new(3, 4, [128, 256, 512, 512], 2);
}

/// <summary>Every tensor of an AutoencoderKL, in diffusers naming.</summary>
public static class VaeParameters
{
    public static IReadOnlyList<ParameterSpec> For(VaeConfig c)
    {
        var p = new ParameterList();
        int[] ch = c.BlockOutChannels;
        p.Conv("encoder.conv_in", ch[0], c.InChannels, 3);
        int previous = ch[0];
        for (int i = 0; i < ch.Length; i++)
        {
            for (int j = 0; j < c.LayersPerBlock; j++)
            {
                Resnet(p, $"encoder.down_blocks.{i}.resnets.{j}", j == 0 ? previous : ch[i], ch[i]);
            }
            if (i < ch.Length - 1)
            {
                p.Conv($"encoder.down_blocks.{i}.downsamplers.0.conv", ch[i], ch[i], 3);
            }
            previous = ch[i];
        }
        MidBlock(p, "encoder.mid_block", ch[^1]);
        p.Norm("encoder.conv_norm_out", ch[^1]);
        p.Conv("encoder.conv_out", 2 * c.LatentChannels, ch[^1], 3);
        p.Conv("quant_conv", 2 * c.LatentChannels, 2 * c.LatentChannels, 1);
        p.Conv("post_quant_conv", c.LatentChannels, c.LatentChannels, 1);

        int[] reversed = ch.Reverse().ToArray();
        p.Conv("decoder.conv_in", reversed[0], c.LatentChannels, 3);
        MidBlock(p, "decoder.mid_block", reversed[0]);
        int output = reversed[0];
        for (int i = 0; i < reversed.Length; i++)
        {
            int previousOutput = output;
            output = reversed[i];
            for (int j = 0; j <= c.LayersPerBlock; j++)
            {
                Resnet(p, $"decoder.up_blocks.{i}.resnets.{j}", j == 0 ? previousOutput : output, output);
            }
            if (i < reversed.Length - 1)
            {
                p.Conv($"decoder.up_blocks.{i}.upsamplers.0.conv", output, output, 3);
            }
        }
        p.Norm("decoder.conv_norm_out", ch[0]);
        p.Conv("decoder.conv_out", c.InChannels, ch[0], 3);
        return p.Specs;
    }

    private static void MidBlock(ParameterList p, string name, int channels)
    {
        Resnet(p, $"{name}.resnets.0", channels, channels);
        p.Norm($"{name}.attentions.0.group_norm", channels);
        foreach (string projection in new[] { "to_q", "to_k", "to_v", "to_out.0" })
        {
            p.Linear($"{name}.attentions.0.{projection}", channels, channels);
        }
        Resnet(p, $"{name}.resnets.1", channels, channels);
    }

    private static void Resnet(ParameterList p, string name, int input, int output)
    {
        p.Norm($"{name}.norm1", input);
        p.Conv($"{name}.conv1", output, input, 3);
        p.Norm($"{name}.norm2", output);
        p.Conv($"{name}.conv2", output, output, 3);
        if (input != output)
        {
            p.Conv($"{name}.conv_shortcut", output, input, 1);
        }
    }
}
