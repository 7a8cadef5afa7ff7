using Dsoup.Engine.Autograd;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels.Nn;

namespace Dsoup.Engine;

public static partial class Ops
{
    /// <summary>
    /// Softmax over the last axis in f32, maximum subtracted first. <paramref name="causal"/> treats the
    /// last two axes as [queries, keys] and masks key j for query i where j &gt; i + keys − queries
    /// (a causal mask aligned to the end, as CLIP's); masked entries are exactly 0.
    /// </summary>
    public static Tensor Softmax(Tensor x, bool causal = false)
    {
        const string op = "Softmax";
        OpChecks.MinimumRank(op, x, causal ? 2 : 1, "the input");
        var shape = new SoftmaxShape(x.Count / Math.Max(1, x.Shape[-1]), x.Shape[-1], causal ? x.Shape[-2] : 0);
        Tensor result = Tensor.Empty(x.Shape, x.DType, x.Device);
        if (x.Count == 0)
        {
            return result;
        }
        x.Device.Backend.Softmax(x.DType, x.View, result.View, shape);
        Tape.Record(op, [x], result, g =>
        {
            Tensor gradInput = Tensor.Empty(x.Shape, x.DType, x.Device);
            x.Device.Backend.SoftmaxBackward(x.DType, result.View, g.View, gradInput.View, shape);
            return [gradInput];
        });
        return result;
    }
}
