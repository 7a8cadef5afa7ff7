using Dsoup.Engine.Autograd;
using Dsoup.Engine.Tensors;

namespace Dsoup.Engine;

public static partial class Ops
{
    /// <summary>x [..., in] · weightᵀ + bias, with weight [out, in] and bias [out] as torch's nn.Linear stores them.</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        const string op = "Linear";
        OpChecks.MinimumRank(op, x, 1, "the input");
        if (weight.Shape.Rank != 2 || weight.Shape[1] != x.Shape[-1])
        {
            throw new ArgumentException($"{op}: the weight {weight.Shape} does not map the last axis of the input {x.Shape}; expected [out, {x.Shape[-1]}]");
        }
        if (bias is not null && bias.Shape != new Shape(weight.Shape[0]))
        {
            throw new ArgumentException($"{op}: the bias has shape {bias.Shape}; expected [{weight.Shape[0]}] for the weight {weight.Shape}");
        }
        using var temps = new Intermediates();
        Tensor product = x.Shape.Rank == 1
            ? temps.Add(MatMul(temps.Add(x.Reshape(1, x.Shape[0])), weight, transposeB: true)).Reshape(weight.Shape[0])
            : MatMul(x, weight, transposeB: true);
        if (bias is null)
        {
            return product;
        }
        temps.Add(product);
        int rows = checked((int)(product.Count / weight.Shape[0]));
        Tensor spread = temps.Add(Repeat(bias, 0, rows));
        return product + temps.Add(spread.Reshape(product.Shape.Dims.ToArray()));
    }
}
