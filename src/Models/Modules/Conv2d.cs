using Dsoup.Engine;
using Dsoup.Engine.Tensors;

namespace Dsoup.Models.Modules;

/// <summary>torch.nn.Conv2d with a square kernel: weight [out, in, k, k] and bias [out].</summary>
public sealed class Conv2d(Weights w, int inChannels, int outChannels, int kernel, int stride = 1, Padding2d? padding = null)
{
    private readonly Tensor weight = w.Get("weight", outChannels, inChannels, kernel, kernel);
    private readonly Tensor bias = w.Get("bias", outChannels);
    private readonly Padding2d pad = padding ?? Padding2d.Same(kernel / 2);

    public Tensor Forward(Tensor x) => Ops.Conv2d(x, weight, bias, stride, pad);
}
