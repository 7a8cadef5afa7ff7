using Dsoup.Engine.Devices;
using Dsoup.Engine.Memory;
using Dsoup.Engine.Tensors;
using Dsoup.Models.Modules;
using Dsoup.Models.Unet;

namespace Dsoup.Models.Vae;

/// <summary>The VAE's UNetMidBlock2D: resnet, single-head attention, resnet (no time embedding).</summary>
internal sealed class VaeMidBlock(Weights w, int channels, int groups)
{
    private readonly Device device = w.Device;
    private readonly ResnetBlock2D first = new(w.At("resnets.0"), channels, channels, 0, groups, 1e-6f);
    private readonly VaeAttention attention = new(w.At("attentions.0"), channels, groups);
    private readonly ResnetBlock2D second = new(w.At("resnets.1"), channels, channels, 0, groups, 1e-6f);

    public Tensor Forward(Tensor x)
    {
        x = BlockMemory.Run(device, () => first.Forward(x));
        Tensor attended = x;
        x = BlockMemory.Run(device, () => attention.Forward(attended));
        Tensor last = x;
        return BlockMemory.Run(device, () => second.Forward(last));
    }
}
