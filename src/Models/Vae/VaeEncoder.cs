using Dsoup.Engine;
using Dsoup.Engine.Devices;
using Dsoup.Engine.Memory;
using Dsoup.Engine.Tensors;
using Dsoup.Models.Architecture;
using Dsoup.Models.Modules;
using Dsoup.Models.Unet;

namespace Dsoup.Models.Vae;

/// <summary>
/// AutoencoderKL's encoder: conv_in, down levels of resnets with the asymmetric stride-2 downsampler (zero
/// padding right and bottom only), a mid block with attention, GroupNorm, SiLU, conv_out to 2·latent channels.
/// </summary>
internal sealed class VaeEncoder
{
    private readonly Device device;
    private readonly Conv2d convIn;
    private readonly List<VaeLevel> levels = [];
    private readonly VaeMidBlock mid;
    private readonly GroupNorm normOut;
    private readonly Conv2d convOut;

    public VaeEncoder(Weights w, VaeConfig c, int groups)
    {
        device = w.Device;
        int[] ch = c.BlockOutChannels;
        convIn = new Conv2d(w.At("conv_in"), c.InChannels, ch[0], 3);
        int previous = ch[0];
        for (int i = 0; i < ch.Length; i++)
        {
            Weights block = w.At("down_blocks").At(i);
            var resnets = Enumerable.Range(0, c.LayersPerBlock)
                .Select(j => new ResnetBlock2D(block.At("resnets").At(j), j == 0 ? previous : ch[i], ch[i], 0, groups, 1e-6f)).ToList();
            Conv2d? downsample = i < ch.Length - 1
                ? new Conv2d(block.At("downsamplers.0.conv"), ch[i], ch[i], 3, stride: 2, padding: Padding2d.BottomRight(1))
                : null;
            levels.Add(new VaeLevel(resnets, downsample is null ? null : downsample.Forward));
            previous = ch[i];
        }
        mid = new VaeMidBlock(w.At("mid_block"), ch[^1], groups);
        normOut = new GroupNorm(w.At("conv_norm_out"), groups, ch[^1], 1e-6f);
        convOut = new Conv2d(w.At("conv_out"), ch[^1], 2 * c.LatentChannels, 3);
    }

    public Tensor Forward(Tensor pixels)
    {
        Tensor x = BlockMemory.Run(device, () => convIn.Forward(pixels));
        foreach (VaeLevel level in levels)
        {
            x = level.Forward(device, x);
        }
        x = mid.Forward(x);
        Tensor final = x;
        return BlockMemory.Run(device, () => convOut.Forward(Ops.Silu(normOut.Forward(final))));
    }
}
