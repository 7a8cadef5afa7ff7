using Dsoup.Engine.Autograd;
using Dsoup.Engine.Tensors;

namespace Dsoup.Engine;

public static partial class Ops
{
    /// <summary>
    /// Multi-head scaled dot-product attention: q [B, Nq, C] against k, v [B, Nk, C] in <paramref name="heads"/>
    /// heads of C/heads, scale 1/√(C/heads), softmax in f32, optional causal mask (CLIP's text encoder).
    /// Composed from batched GEMMs and the row softmax: it holds the [B, heads, Nq, Nk] scores.
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
        int d = channels / heads;
        using var temps = new Intermediates();
        Tensor qh = SplitHeads(temps.Add(Scale(q, 1f / MathF.Sqrt(d))), heads, temps);
        Tensor kh = SplitHeads(k, heads, temps);
        Tensor vh = SplitHeads(v, heads, temps);
        Tensor scores = temps.Add(MatMul(qh, kh, transposeB: true));
        Tensor weights = temps.Add(Softmax(scores, causal));
        Tensor mixed = temps.Add(MatMul(weights, vh));
        return temps.Add(SwapAxes(mixed, 1)).Reshape(batch, queries, channels);
    }

    /// <summary>[B, N, C] → [B, heads, N, C/heads].</summary>
    private static Tensor SplitHeads(Tensor x, int heads, Intermediates temps) =>
        temps.Add(SwapAxes(temps.Add(x.Reshape(x.Shape[0], x.Shape[1], heads, x.Shape[2] / heads)), 1));
}
