using Dsoup.Engine;
using Dsoup.Engine.Tensors;

namespace Dsoup.Models.Modules;

/// <summary>torch.nn.Linear: weight [out, in], optional bias [out]; optionally with a LoRA adapter added to its output.</summary>
public sealed class Linear
{
    private readonly Tensor weight;
    private readonly Tensor? bias;

    public Linear(Weights w, int inFeatures, int outFeatures, bool bias = true)
    {
        weight = w.Get("weight", outFeatures, inFeatures);
        this.bias = bias ? w.Get("bias", outFeatures) : null;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        w.Register(this);
    }

    public int InFeatures { get; }

    public int OutFeatures { get; }

    public Tensor Weight => weight;

    /// <summary>A low-rank update applied unmerged: y = W·x + b + (α/r)·B·(A·x).</summary>
    public LoraAdapter? Adapter { get; set; }

    public Tensor Forward(Tensor x)
    {
        Tensor y = Ops.Linear(x, weight, bias);
        return Adapter is null ? y : y + Adapter.Forward(x);
    }
}
