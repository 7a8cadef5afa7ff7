using Dsoup.Engine;
using Dsoup.Engine.Tensors;

namespace Dsoup.Models.Modules;

/// <summary>torch.nn.GroupNorm with affine weight and bias [channels].</summary>
public sealed class GroupNorm(Weights w, int groups, int channels, float eps)
{
    private readonly Tensor weight = w.Get("weight", channels);
    private readonly Tensor bias = w.Get("bias", channels);

    public Tensor Forward(Tensor x) => Ops.GroupNorm(x, groups, weight, bias, eps);
}
