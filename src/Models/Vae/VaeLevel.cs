using Dsoup.Engine.Devices;
using Dsoup.Engine.Memory;
using Dsoup.Engine.Tensors;
using Dsoup.Models.Unet;

namespace Dsoup.Models.Vae;

/// <summary>One level of the VAE's encoder or decoder: its resnets, then its resampler (down or up) if it has one, block by block.</summary>
internal sealed class VaeLevel(List<ResnetBlock2D> resnets, Func<Tensor, Tensor>? resample)
{
    public Tensor Forward(Device device, Tensor x)
    {
        foreach (ResnetBlock2D resnet in resnets)
        {
            Tensor input = x;
            x = BlockMemory.Run(device, () => resnet.Forward(input));
        }
        if (resample is not null)
        {
            Tensor input = x;
            x = BlockMemory.Run(device, () => resample(input));
        }
        return x;
    }
}
