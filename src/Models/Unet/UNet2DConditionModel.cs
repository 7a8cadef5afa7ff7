using Dsoup.Engine;
using Dsoup.Engine.Devices;
using Dsoup.Engine.Memory;
using Dsoup.Engine.Tensors;
using Dsoup.Models.Architecture;
using Dsoup.Models.Modules;

namespace Dsoup.Models.Unet;

/// <summary>
/// diffusers' UNet2DConditionModel (SD 1.x / 2.x and smaller configurations of the same shape): conv_in; down
/// levels of resnets (with cross-attention transformers where configured) and a stride-2 downsampler; a mid
/// block; up levels that concatenate [x, skip] before each resnet and upsample ×2; GroupNorm, SiLU, conv_out.
/// Each layer reads its weights by diffusers key path. Blocks run in <see cref="BlockMemory"/>, so inference
/// holds one block's activations plus the skips.
/// </summary>
public sealed class UNet2DConditionModel
{
    private readonly UNetConfig config;
    private readonly Conv2d convIn;
    private readonly Linear timeLinear1;
    private readonly Linear timeLinear2;
    private readonly List<Level> down = [];
    private readonly ResnetBlock2D midResnet0;
    private readonly Transformer2D midAttention;
    private readonly ResnetBlock2D midResnet1;
    private readonly List<Level> up = [];
    private readonly GroupNorm normOut;
    private readonly Conv2d convOut;

    public UNet2DConditionModel(Weights w, UNetConfig config)
    {
        this.config = config;
        Device = w.Device;
        int[] ch = config.BlockOutChannels;
        int temb = config.TimeEmbeddingDim, groups = config.NormGroups;
        float eps = config.NormEps;
        convIn = new Conv2d(w.At("conv_in"), config.InChannels, ch[0], 3);
        timeLinear1 = new Linear(w.At("time_embedding.linear_1"), ch[0], temb);
        timeLinear2 = new Linear(w.At("time_embedding.linear_2"), temb, temb);

        int previous = ch[0];
        for (int i = 0; i < config.Levels; i++)
        {
            Weights block = w.At("down_blocks").At(i);
            var level = new Level();
            for (int j = 0; j < config.LayersPerBlock; j++)
            {
                level.Resnets.Add(new ResnetBlock2D(block.At("resnets").At(j), j == 0 ? previous : ch[i], ch[i], temb, groups, eps));
                if (config.DownHasAttention(i))
                {
                    level.Attentions.Add(Transformer(block.At("attentions").At(j), ch[i], config.AttentionHeads[i]));
                }
            }
            if (i < config.Levels - 1)
            {
                level.Resample = new Conv2d(block.At("downsamplers.0.conv"), ch[i], ch[i], 3, stride: 2);
            }
            down.Add(level);
            previous = ch[i];
        }

        Weights mid = w.At("mid_block");
        midResnet0 = new ResnetBlock2D(mid.At("resnets.0"), ch[^1], ch[^1], temb, groups, eps);
        midAttention = Transformer(mid.At("attentions.0"), ch[^1], config.AttentionHeads[^1]);
        midResnet1 = new ResnetBlock2D(mid.At("resnets.1"), ch[^1], ch[^1], temb, groups, eps);

        int[] reversed = ch.Reverse().ToArray();
        int[] reversedHeads = config.AttentionHeads.Reverse().ToArray();
        int output = reversed[0];
        for (int i = 0; i < config.Levels; i++)
        {
            Weights block = w.At("up_blocks").At(i);
            int previousOutput = output;
            output = reversed[i];
            int input = reversed[Math.Min(i + 1, config.Levels - 1)];
            var level = new Level();
            for (int j = 0; j <= config.LayersPerBlock; j++)
            {
                int skip = j == config.LayersPerBlock ? input : output;
                int resnetInput = j == 0 ? previousOutput : output;
                level.Resnets.Add(new ResnetBlock2D(block.At("resnets").At(j), resnetInput + skip, output, temb, groups, eps));
                if (config.UpHasAttention(i))
                {
                    level.Attentions.Add(Transformer(block.At("attentions").At(j), output, reversedHeads[i]));
                }
            }
            if (i < config.Levels - 1)
            {
                level.Resample = new Conv2d(block.At("upsamplers.0.conv"), output, output, 3);
            }
            up.Add(level);
        }
        normOut = new GroupNorm(w.At("conv_norm_out"), groups, ch[0], eps);
        convOut = new Conv2d(w.At("conv_out"), ch[0], config.OutChannels, 3);
    }

    public Device Device { get; }

    public UNetConfig Config => config;

    /// <summary>
    /// While a tape records, run each resnet and transformer as a checkpointed segment: its activations are
    /// dropped after the forward pass and recomputed in backward (same gradients, less memory).
    /// </summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>
    /// The model output (ε or v) for <paramref name="sample"/> [B, in, h, w] at one timestep per batch element,
    /// conditioned on <paramref name="context"/> [B, tokens, cross_attention_dim]; h and w must be multiples of
    /// 2^(levels − 1).
    /// </summary>
    public Tensor Forward(Tensor sample, ReadOnlySpan<float> timesteps, Tensor context)
    {
        int batch = sample.Shape[0];
        if (timesteps.Length != batch || context.Shape[0] != batch)
        {
            throw new ArgumentException($"UNet: {batch} samples need as many timesteps and contexts; got {timesteps.Length} timesteps and context {context.Shape}");
        }
        int factor = 1 << (config.Levels - 1);
        if (sample.Shape[2] % factor != 0 || sample.Shape[3] % factor != 0)
        {
            throw new ArgumentException($"UNet: the latent {sample.Shape} must have height and width divisible by {factor}");
        }
        float[] steps = timesteps.ToArray();
        Tensor temb = BlockMemory.Run(Device, () =>
        {
            Tensor projection = Ops.TimestepEmbedding(steps, config.BlockOutChannels[0], config.FlipSinToCos, config.FreqShift, sample.DType, Device);
            return timeLinear2.Forward(Ops.Silu(timeLinear1.Forward(projection)));
        });
        Tensor x = BlockMemory.Run(Device, () => convIn.Forward(sample));
        var skips = new Stack<Tensor>();
        skips.Push(x);
        foreach (Level level in down)
        {
            for (int j = 0; j < level.Resnets.Count; j++)
            {
                x = RunResnet(level, j, x, temb, context);
                skips.Push(x);
            }
            if (level.Resample is Conv2d downsample)
            {
                Tensor input = x;
                x = BlockMemory.Run(Device, () => downsample.Forward(input));
                skips.Push(x);
            }
        }
        x = Block(inputs => midResnet0.Forward(inputs[0], inputs[1]), x, temb);
        x = Block(inputs => midAttention.Forward(inputs[0], inputs[1]), x, context);
        x = Block(inputs => midResnet1.Forward(inputs[0], inputs[1]), x, temb);
        foreach (Level level in up)
        {
            for (int j = 0; j < level.Resnets.Count; j++)
            {
                Tensor input = x, skip = skips.Pop();
                x = BlockMemory.Run(Device, () => Ops.Concat([input, skip], 1));
                x = RunResnet(level, j, x, temb, context);
            }
            if (level.Resample is Conv2d upsample)
            {
                Tensor input = x;
                x = BlockMemory.Run(Device, () => upsample.Forward(Ops.UpsampleNearest(input, 2)));
            }
        }
        Tensor final = x;
        return BlockMemory.Run(Device, () => convOut.Forward(Ops.Silu(normOut.Forward(final))));
    }

    private Tensor RunResnet(Level level, int j, Tensor x, Tensor temb, Tensor context)
    {
        ResnetBlock2D resnet = level.Resnets[j];
        x = Block(inputs => resnet.Forward(inputs[0], inputs[1]), x, temb);
        if (level.Attentions.Count > 0)
        {
            Transformer2D attention = level.Attentions[j];
            x = Block(inputs => attention.Forward(inputs[0], inputs[1]), x, context);
        }
        return x;
    }

    /// <summary>A block of the network: checkpointed while training with <see cref="GradientCheckpointing"/>, else run in <see cref="BlockMemory"/>.</summary>
    private Tensor Block(Func<Tensor[], Tensor> block, params Tensor[] inputs) =>
        GradientCheckpointing && Engine.Autograd.Tape.IsRecording
            ? Engine.Autograd.GradientCheckpoint.Run(segment => [block(segment)], inputs)[0]
            : BlockMemory.Run(Device, () => block(inputs));

    private Transformer2D Transformer(Weights w, int channels, int heads) =>
        new(w, channels, config.CrossAttentionDim, heads, config.UseLinearProjection, config.NormGroups);

    /// <summary>One down or up level: its resnets, their transformers (if any), and its resampler (if any).</summary>
    private sealed class Level
    {
        public List<ResnetBlock2D> Resnets { get; } = [];

        public List<Transformer2D> Attentions { get; } = [];

        public Conv2d? Resample { get; set; }
    }
}
