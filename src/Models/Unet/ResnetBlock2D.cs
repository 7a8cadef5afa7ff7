using Dsoup.Engine;
using Dsoup.Engine.Devices;
using Dsoup.Engine.Memory;
using Dsoup.Engine.Tensors;
using Dsoup.Models.Modules;

namespace Dsoup.Models.Unet;

/// <summary>
/// diffusers' ResnetBlock2D (also the VAE's, without a time embedding): h = conv1(SiLU(GN1(x))), plus the
/// projected time embedding per channel, h = conv2(SiLU(GN2(h))), out = shortcut(x) + h (a 1×1 conv shortcut
/// where the channel count changes).
/// </summary>
public sealed class ResnetBlock2D
{
    private readonly GroupNorm norm1;
    private readonly Conv2d conv1;
    private readonly Linear? timeEmbeddingProjection;
    private readonly GroupNorm norm2;
    private readonly Conv2d conv2;
    private readonly Conv2d? shortcut;

    /// <param name="timeEmbeddingDim">0 for the VAE's blocks, which have no time embedding.</param>
    public ResnetBlock2D(Weights w, int inChannels, int outChannels, int timeEmbeddingDim, int groups, float eps)
    {
        norm1 = new GroupNorm(w.At("norm1"), groups, inChannels, eps);
        conv1 = new Conv2d(w.At("conv1"), inChannels, outChannels, 3);
        timeEmbeddingProjection = timeEmbeddingDim > 0 ? new Linear(w.At("time_emb_proj"), timeEmbeddingDim, outChannels) : null;
        norm2 = new GroupNorm(w.At("norm2"), groups, outChannels, eps);
        conv2 = new Conv2d(w.At("conv2"), outChannels, outChannels, 3);
        shortcut = inChannels != outChannels ? new Conv2d(w.At("conv_shortcut"), inChannels, outChannels, 1) : null;
    }

    /// <summary>Each half runs as its own block (<see cref="BlockMemory"/>): at VAE resolutions a feature map is 100+ MiB.</summary>
    public Tensor Forward(Tensor x, Tensor? timeEmbedding = null)
    {
        Device device = x.Device;
        Tensor h = BlockMemory.Run(device, () =>
        {
            Tensor first = conv1.Forward(Ops.Silu(norm1.Forward(x)));
            return timeEmbeddingProjection is null ? first : Ops.AddPerChannel(first, timeEmbeddingProjection.Forward(Ops.Silu(timeEmbedding!)));
        });
        Tensor second = BlockMemory.Run(device, () => conv2.Forward(Ops.Silu(norm2.Forward(h))));
        return (shortcut?.Forward(x) ?? x) + second;
    }
}
