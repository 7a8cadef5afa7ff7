using Dsoup.Engine.Autograd;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels;
using Dsoup.Kernels.Nn;

namespace Dsoup.Engine;

public static partial class Ops
{
    /// <summary>LayerNorm over the last axis with affine weight and bias of that size (biased variance, eps inside the root).</summary>
    public static Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, float eps = 1e-5f)
    {
        const string op = "LayerNorm";
        OpChecks.MinimumRank(op, x, 1, "the input");
        int width = x.Shape[-1];
        CheckAffine(op, x, weight, bias, width, $"the last axis of the input {x.Shape}");
        return Normalize(op, x, weight, bias, NormShape.LayerNorm(x.Count / Math.Max(1, width), width), eps);
    }

    /// <summary>
    /// GroupNorm of [N, C, ...] into <paramref name="groups"/> contiguous blocks of C/groups channels, with
    /// per-channel weight and bias; statistics in f32 whatever the storage type.
    /// </summary>
    public static Tensor GroupNorm(Tensor x, int groups, Tensor weight, Tensor bias, float eps = 1e-5f)
    {
        const string op = "GroupNorm";
        OpChecks.MinimumRank(op, x, 2, "the input");
        int channels = x.Shape[1];
        if (groups <= 0 || channels % groups != 0)
        {
            throw new ArgumentException($"{op}: {channels} channels of the input {x.Shape} do not divide into {groups} groups");
        }
        CheckAffine(op, x, weight, bias, channels, $"the channels of the input {x.Shape}");
        return Normalize(op, x, weight, bias, NormShape.GroupNorm(x.Shape[0], channels, groups, x.Shape.Product(2, x.Shape.Rank)), eps);
    }

    private static void CheckAffine(string op, Tensor x, Tensor weight, Tensor bias, int size, string what)
    {
        foreach ((Tensor parameter, string role) in new[] { (weight, "weight"), (bias, "bias") })
        {
            OpChecks.SameDevice(op, x, parameter);
            OpChecks.SameDType(op, x, parameter);
            if (parameter.Shape != new Shape(size))
            {
                throw new ArgumentException($"{op}: the {role} has shape {parameter.Shape}; expected [{size}] for {what}");
            }
        }
    }

    private static Tensor Normalize(string op, Tensor x, Tensor weight, Tensor bias, NormShape shape, float eps)
    {
        IBackend backend = x.Device.Backend;
        Tensor y = Tensor.Empty(x.Shape, x.DType, x.Device);
        Tensor mean = Tensor.Empty(new Shape(checked((int)shape.Rows)), DType.F32, x.Device);
        Tensor rstd = Tensor.Empty(new Shape(checked((int)shape.Rows)), DType.F32, x.Device);
        if (x.Count > 0)
        {
            backend.Normalize(x.DType, x.View, weight.View, bias.View, y.View, mean.View, rstd.View, shape, eps);
        }
        Tape.Record(op, [x, weight, bias], y, g =>
        {
            Tensor gradInput = Tensor.Empty(x.Shape, x.DType, x.Device);
            Tensor gradWeight = Tensor.Empty(weight.Shape, x.DType, x.Device);
            Tensor gradBias = Tensor.Empty(bias.Shape, x.DType, x.Device);
            backend.NormalizeBackward(x.DType, x.View, weight.View, mean.View, rstd.View, g.View,
                gradInput.View, gradWeight.View, gradBias.View, shape);
            return [gradInput, gradWeight, gradBias];
        });
        return y;
    }
}
