using Dsoup.Engine;
using Dsoup.Engine.Tensors;
using Dsoup.Models.Modules;

namespace Dsoup.Models.Unet;

/// <summary>
/// diffusers' BasicTransformerBlock: self-attention, cross-attention to the text, and a GEGLU feed-forward
/// (first half of the 8C projection the value, second half the gate), each after a LayerNorm and added back.
/// </summary>
public sealed class BasicTransformerBlock(Weights w, int channels, int contextChannels, int heads)
{
    private readonly LayerNorm norm1 = new(w.At("norm1"), channels, 1e-5f);
    private readonly Attention selfAttention = new(w.At("attn1"), channels, channels, heads);
    private readonly LayerNorm norm2 = new(w.At("norm2"), channels, 1e-5f);
    private readonly Attention crossAttention = new(w.At("attn2"), channels, contextChannels, heads);
    private readonly LayerNorm norm3 = new(w.At("norm3"), channels, 1e-5f);
    private readonly Linear feedForwardIn = new(w.At("ff.net.0.proj"), channels, 8 * channels);
    private readonly Linear feedForwardOut = new(w.At("ff.net.2"), 4 * channels, channels);

    public Tensor Forward(Tensor x, Tensor context)
    {
        x = selfAttention.Forward(norm1.Forward(x)) + x;
        x = crossAttention.Forward(norm2.Forward(x), context) + x;
        return feedForwardOut.Forward(Ops.Geglu(feedForwardIn.Forward(norm3.Forward(x)))) + x;
    }
}
