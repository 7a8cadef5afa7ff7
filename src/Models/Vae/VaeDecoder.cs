using Dsoup.Engine;
using Dsoup.Engine.Devices;
using Dsoup.Engine.Memory;
using Dsoup.Engine.Tensors;
using Dsoup.Models.Architecture;
using Dsoup.Models.Modules;
using Dsoup.Models.Unet;

namespace Dsoup.Models.Vae;

/// <summary>
/// AutoencoderKL's decoder: conv_in from the latent, a mid block with attention, up levels (reversed widths) of
/// LayersPerBlock + 1 resnets and a nearest ×2 upsampler with a 3×3 conv, GroupNorm, SiLU, conv_out to pixels.
/// </summary>
internal sealed class VaeDecoder
{
    private readonly Device device;
    private readonly Conv2d convIn;
    private readonly VaeMidBlock mid;
    private readonly List<VaeLevel> levels = [];
    private readonly GroupNorm normOut;
    private readonly Conv2d convOut;

    public VaeDecoder(Weights w, VaeConfig c, int groups)
    {
        device = w.Device;
        int[] reversed = c.BlockOutChannels.Reverse().ToArray();
        convIn = new Conv2d(w.At("conv_in"), c.LatentChannels, reversed[0], 3);
        mid = new VaeMidBlock(w.At("mid_block"), reversed[0], groups);
        int output = reversed[0];
        for (int i = 0; i < reversed.Length; i++)
        {
            Weights block = w.At("up_blocks").At(i);
            int previousOutput = output;
            output = reversed[i];
            int channels = output;
            var resnets = Enumerable.Range(0, c.LayersPerBlock + 1)
                .Select(j => new ResnetBlock2D(block.At("resnets").At(j), j == 0 ? previousOutput : channels, channels, 0, groups, 1e-6f)).ToList();
            Conv2d? upsample = i < reversed.Length - 1 ? new Conv2d(block.At("upsamplers.0.conv"), output, output, 3) : null;
            levels.Add(new VaeLevel(resnets, upsample is null ? null : x => upsample.Forward(Ops.UpsampleNearest(x, 2))));
        }
        normOut = new GroupNorm(w.At("conv_norm_out"), groups, reversed[^1], 1e-6f);
        convOut = new Conv2d(w.At("conv_out"), reversed[^1], c.InChannels, 3);
    }

    public Tensor Forward(Tensor latent)
    {
        Tensor x = BlockMemory.Run(device, () => convIn.Forward(latent));
        x = mid.Forward(x);
        foreach (VaeLevel level in levels)
        {
            x = level.Forward(device, x);
        }
        Tensor final = x;
        return BlockMemory.Run(device, () => convOut.Forward(Ops.Silu(normOut.Forward(final))));
    }
}
