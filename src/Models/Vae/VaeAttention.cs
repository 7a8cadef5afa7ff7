using Dsoup.Engine;
using Dsoup.Engine.Tensors;
using Dsoup.Models.Modules;

namespace Dsoup.Models.Vae;

/// <summary>
/// The VAE mid block's single-head self-attention over pixels (diffusers' Attention with a group norm and a
/// residual connection): x + to_out(softmax(q·kᵀ/√C)·v), q, k, v from GroupNorm(x) flattened to [B, H·W, C].
/// </summary>
internal sealed class VaeAttention(Weights w, int channels, int groups)
{
    private readonly GroupNorm norm = new(w.At("group_norm"), groups, channels, 1e-6f);
    private readonly Unet.Attention attention = new(w, channels, channels, heads: 1, projectionBias: true);

    public Tensor Forward(Tensor x)
    {
        int batch = x.Shape[0], channels = x.Shape[1], height = x.Shape[2], width = x.Shape[3];
        Tensor tokens = Ops.SwapAxes(norm.Forward(x).Reshape(batch, channels, height * width), 1);
        Tensor attended = attention.Forward(tokens);
        return Ops.SwapAxes(attended, 1).Reshape(batch, channels, height, width) + x;
    }
}
