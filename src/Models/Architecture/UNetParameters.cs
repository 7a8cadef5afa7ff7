namespace Dsoup.Models.Architecture;

/// <summary>Every tensor of a UNet2DConditionModel, in diffusers naming, derived from its config.</summary>
public static class UNetParameters
{
    public static IReadOnlyList<ParameterSpec> For(UNetConfig c)
    {
        var p = new ParameterList();
        int[] ch = c.BlockOutChannels;
        p.Conv("conv_in", ch[0], c.InChannels, 3);
        p.Linear("time_embedding.linear_1", c.TimeEmbeddingDim, ch[0]);
        p.Linear("time_embedding.linear_2", c.TimeEmbeddingDim, c.TimeEmbeddingDim);

        int previous = ch[0];
        for (int i = 0; i < c.Levels; i++)
        {
            for (int j = 0; j < c.LayersPerBlock; j++)
            {
                Resnet(p, c, $"down_blocks.{i}.resnets.{j}", j == 0 ? previous : ch[i], ch[i]);
                if (c.DownHasAttention(i))
                {
                    Transformer(p, c, $"down_blocks.{i}.attentions.{j}", ch[i]);
                }
            }
            if (i < c.Levels - 1)
            {
                p.Conv($"down_blocks.{i}.downsamplers.0.conv", ch[i], ch[i], 3);
            }
            previous = ch[i];
        }

        int last = ch[^1];
        Resnet(p, c, "mid_block.resnets.0", last, last);
        Transformer(p, c, "mid_block.attentions.0", last);
        Resnet(p, c, "mid_block.resnets.1", last, last);

        int[] reversed = ch.Reverse().ToArray();
        int output = reversed[0];
        for (int i = 0; i < c.Levels; i++)
        {
            int previousOutput = output;
            output = reversed[i];
            int input = reversed[Math.Min(i + 1, c.Levels - 1)];
            for (int j = 0; j <= c.LayersPerBlock; j++)
            {
                int skip = j == c.LayersPerBlock ? input : output;
                int resnetInput = j == 0 ? previousOutput : output;
                Resnet(p, c, $"up_blocks.{i}.resnets.{j}", resnetInput + skip, output);
                if (c.UpHasAttention(i))
                {
                    Transformer(p, c, $"up_blocks.{i}.attentions.{j}", output);
                }
            }
            if (i < c.Levels - 1)
            {
                p.Conv($"up_blocks.{i}.upsamplers.0.conv", output, output, 3);
            }
        }

        p.Norm("conv_norm_out", ch[0]);
        p.Conv("conv_out", c.OutChannels, ch[0], 3);
        return p.Specs;
    }

    private static void Resnet(ParameterList p, UNetConfig c, string name, int input, int output)
    {
        p.Norm($"{name}.norm1", input);
        p.Conv($"{name}.conv1", output, input, 3);
        p.Linear($"{name}.time_emb_proj", output, c.TimeEmbeddingDim);
        p.Norm($"{name}.norm2", output);
        p.Conv($"{name}.conv2", output, output, 3);
        if (input != output)
        {
            p.Conv($"{name}.conv_shortcut", output, input, 1);
        }
    }

    private static void Transformer(ParameterList p, UNetConfig c, string name, int channels)
    {
        p.Norm($"{name}.norm", channels);
        Projection(p, c, $"{name}.proj_in", channels);
        string block = $"{name}.transformer_blocks.0";
        p.Norm($"{block}.norm1", channels);
        p.Norm($"{block}.norm2", channels);
        p.Norm($"{block}.norm3", channels);
        Attention(p, $"{block}.attn1", channels, channels);
        Attention(p, $"{block}.attn2", channels, c.CrossAttentionDim);
        p.Linear($"{block}.ff.net.0.proj", 8 * channels, channels);
        p.Linear($"{block}.ff.net.2", channels, 4 * channels);
        Projection(p, c, $"{name}.proj_out", channels);
    }

    private static void Projection(ParameterList p, UNetConfig c, string name, int channels)
    {
        if (c.UseLinearProjection)
        {
            p.Linear(name, channels, channels);
        }
        else
        {
            p.Conv(name, channels, channels, 1);
        }
    }

    private static void Attention(ParameterList p, string name, int channels, int contextChannels)
    {
        p.Linear($"{name}.to_q", channels, channels, bias: false);
        p.Linear($"{name}.to_k", channels, contextChannels, bias: false);
        p.Linear($"{name}.to_v", channels, contextChannels, bias: false);
        p.Linear($"{name}.to_out.0", channels, channels);
    }
}
