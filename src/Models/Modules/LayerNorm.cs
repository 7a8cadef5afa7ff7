using Dsoup.Engine;
using Dsoup.Engine.Tensors;

namespace Dsoup.Models.Modules;

/// <summary>torch.nn.LayerNorm over the last axis with affine weight and bias [width].</summary>
public sealed class LayerNorm(Weights w, int width, float eps)
{
    private readonly Tensor weight = w.Get("weight", width);
    private readonly Tensor bias = w.Get("bias", width);

    public Tensor Forward(Tensor x) => Ops.LayerNorm(x, weight, bias, eps);
}
