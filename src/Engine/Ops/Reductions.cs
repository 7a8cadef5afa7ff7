using Dsoup.Engine.Autograd;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels;

namespace Dsoup.Engine;

public static partial class Ops
{
    /// <summary>Sum of every element, as a scalar (rank 0) of the same dtype; accumulated in f32 or better.</summary>
    public static Tensor Sum(Tensor x) => Reduce("Sum", x, new ReduceShape(1, x.Count, 1), Shape.Scalar, 1f);

    /// <summary>Mean of every element, as a scalar.</summary>
    public static Tensor Mean(Tensor x) =>
        Reduce("Mean", x, new ReduceShape(1, x.Count, 1), Shape.Scalar, x.Count == 0 ? float.NaN : 1f / x.Count);

    /// <summary>Sum over <paramref name="axis"/> (negative counts from the end).</summary>
    public static Tensor Sum(Tensor x, int axis, bool keepDim = false) => ReduceAxis("Sum", x, axis, keepDim, mean: false);

    /// <summary>Mean over <paramref name="axis"/> (negative counts from the end).</summary>
    public static Tensor Mean(Tensor x, int axis, bool keepDim = false) => ReduceAxis("Mean", x, axis, keepDim, mean: true);

    private static Tensor ReduceAxis(string op, Tensor x, int axis, bool keepDim, bool mean)
    {
        OpChecks.MinimumRank(op, x, 1, "the input");
        int a = x.Shape.Axis(axis);
        var shape = new ReduceShape(x.Shape.Product(0, a), x.Shape[a], x.Shape.Product(a + 1, x.Shape.Rank));
        Shape resultShape = keepDim ? x.Shape.Replace(a, 1) : x.Shape.Remove(a);
        float scale = mean ? (shape.Extent == 0 ? float.NaN : 1f / shape.Extent) : 1f;
        return Reduce(op, x, shape, resultShape, scale);
    }

    private static Tensor Reduce(string op, Tensor x, ReduceShape shape, Shape resultShape, float scale)
    {
        Tensor result = Tensor.Empty(resultShape, x.DType, x.Device);
        x.Device.Backend.SumAxis(x.DType, x.View, result.View, shape, scale);
        Shape inputShape = x.Shape;
        Tape.Record(op, [x], result, g =>
        {
            Tensor spread = Tensor.Empty(inputShape, g.DType, g.Device);
            g.Device.Backend.BroadcastAxis(g.DType, g.View, spread.View, shape, scale);
            return [spread];
        });
        return result;
    }
}
