using Dsoup.Engine;
using Dsoup.Engine.Tensors;
using Dsoup.Models.Modules;

namespace Dsoup.Models.Unet;

/// <summary>
/// diffusers' Attention (attn1/attn2 of a transformer block): q from x, k and v from the context (or x for
/// self-attention), fused multi-head attention at scale 1/√d, then to_out.0. to_q/k/v have no bias by default.
/// </summary>
public sealed class Attention(Weights w, int channels, int contextChannels, int heads, bool projectionBias = false)
{
    private readonly Linear query = new(w.At("to_q"), channels, channels, projectionBias);
    private readonly Linear key = new(w.At("to_k"), contextChannels, channels, projectionBias);
    private readonly Linear value = new(w.At("to_v"), contextChannels, channels, projectionBias);
    private readonly Linear output = new(w.At("to_out.0"), channels, channels);

    /// <summary>x [B, N, C] attending to <paramref name="context"/> [B, M, contextChannels], or to itself.</summary>
    public Tensor Forward(Tensor x, Tensor? context = null)
    {
        Tensor source = context ?? x;
        return output.Forward(Ops.Attention(query.Forward(x), key.Forward(source), value.Forward(source), heads));
    }
}
