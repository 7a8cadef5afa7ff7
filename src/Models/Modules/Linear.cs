using Dsoup.Engine;
using Dsoup.Engine.Tensors;

namespace Dsoup.Models.Modules;

/// <summary>torch.nn.Linear: weight [out, in], optional bias [out].</summary>
public sealed class Linear(Weights w, int inFeatures, int outFeatures, bool bias = true)
{
    private readonly Tensor weight = w.Get("weight", outFeatures, inFeatures);
    private readonly Tensor? bias = bias ? w.Get("bias", outFeatures) : null;

    public Tensor Forward(Tensor x) => Ops.Linear(x, weight, bias);
}
