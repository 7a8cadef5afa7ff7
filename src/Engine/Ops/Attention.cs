using Dsoup.Engine.Autograd;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels;
using Dsoup.Kernels.Nn;

namespace Dsoup.Engine;

public static partial class Ops
{
    /// <summary>
    /// Multi-head scaled dot-product attention: q [B, Nq, C] against k, v [B, Nk, C] in <paramref name="heads"/>
    /// heads of C/heads, scale 1/√(C/heads), softmax in f32, optional causal mask (CLIP's text encoder).
    /// One fused backend op with an online softmax: the [B, heads, Nq, Nk] scores are never held, in
    /// forward or backward (which recomputes them block by block from each row's saved log-sum-exp).
    /// </summary>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v, int heads, bool causal = false)
    {
        const string op = "Attention";
        foreach ((Tensor t, string role) in new[] { (q, "query"), (k, "key"), (v, "value") })
        {
            if (t.Shape.Rank != 3)
            {
                throw new ArgumentException($"{op}: the {role} must be [batch, tokens, channels]; got {t.Shape}");
            }
            OpChecks.SameDevice(op, q, t);
            OpChecks.SameDType(op, q, t);
        }
        int batch = q.Shape[0], queries = q.Shape[1], channels = q.Shape[2], keys = k.Shape[1];
        if (k.Shape != v.Shape || k.Shape[0] != batch || k.Shape[2] != channels)
        {
            throw new ArgumentException($"{op}: query {q.Shape}, key {k.Shape} and value {v.Shape} must share batch and channels, key and value their shape");
        }
        if (heads <= 0 || channels % heads != 0)
        {
            throw new ArgumentException($"{op}: {heads} heads do not divide the {channels} channels of the query {q.Shape}");
        }
        if (causal && keys < queries)
        {
            throw new ArgumentException($"{op}: a causal mask needs at least as many keys as queries; got {keys} keys for {queries} queries");
        }
        var shape = new AttentionShape(batch, queries, keys, heads, channels / heads, causal);
        IBackend backend = q.Device.Backend;
        Tensor result = Tensor.Empty(q.Shape, q.DType, q.Device);
        Tensor logSumExp = Tensor.Empty(new Shape(checked((int)shape.Rows)), DType.F32, q.Device);
        if (result.Count > 0 && keys > 0)
        {
            backend.Attention(q.DType, q.View, k.View, v.View, result.View, logSumExp.View, shape);
        }
        Tape.Record(op, [q, k, v], result, g =>
        {
            Tensor gradQ = Tensor.Empty(q.Shape, q.DType, q.Device);
            Tensor gradK = Tensor.Empty(k.Shape, k.DType, k.Device);
            Tensor gradV = Tensor.Empty(v.Shape, v.DType, v.Device);
            using Tensor rowDots = Tensor.Empty(logSumExp.Shape, DType.F32, q.Device);
            backend.AttentionBackward(q.DType, q.View, k.View, v.View, result.View, logSumExp.View, g.View,
                gradQ.View, gradK.View, gradV.View, rowDots.View, shape);
            return [gradQ, gradK, gradV];
        });
        return result;
    }
}
