using Dsoup.Engine;
using Dsoup.Engine.Tensors;
using Dsoup.Models.Modules;

namespace Dsoup.Models.Unet;

/// <summary>
/// diffusers' Transformer2DModel on a feature map: GroupNorm (eps 1e-6), proj_in (a 1×1 conv before
/// flattening in SD 1.x, a Linear after it in SD 2.x), one BasicTransformerBlock over the H·W tokens,
/// proj_out the same way back, plus the input.
/// </summary>
public sealed class Transformer2D
{
    private readonly GroupNorm norm;
    private readonly Func<Tensor, Tensor> projectIn;
    private readonly Func<Tensor, Tensor> projectOut;
    private readonly BasicTransformerBlock block;
    private readonly bool linearProjection;

    public Transformer2D(Weights w, int channels, int contextChannels, int heads, bool linearProjection, int groups)
    {
        norm = new GroupNorm(w.At("norm"), groups, channels, 1e-6f);
        this.linearProjection = linearProjection;
        if (linearProjection)
        {
            projectIn = new Linear(w.At("proj_in"), channels, channels).Forward;
            projectOut = new Linear(w.At("proj_out"), channels, channels).Forward;
        }
        else
        {
            projectIn = new Conv2d(w.At("proj_in"), channels, channels, 1).Forward;
            projectOut = new Conv2d(w.At("proj_out"), channels, channels, 1).Forward;
        }
        block = new BasicTransformerBlock(w.At("transformer_blocks.0"), channels, contextChannels, heads);
    }

    public Tensor Forward(Tensor x, Tensor context)
    {
        int batch = x.Shape[0], channels = x.Shape[1], height = x.Shape[2], width = x.Shape[3];
        Tensor h = norm.Forward(x);
        if (!linearProjection)
        {
            h = projectIn(h);
        }
        h = ToTokens(h);
        if (linearProjection)
        {
            h = projectIn(h);
        }
        h = block.Forward(h, context);
        if (linearProjection)
        {
            h = projectOut(h);
        }
        h = Ops.SwapAxes(h, 1).Reshape(batch, channels, height, width);
        if (!linearProjection)
        {
            h = projectOut(h);
        }
        return h + x;
    }

    /// <summary>[B, C, H, W] → [B, H·W, C].</summary>
    private static Tensor ToTokens(Tensor x) => Ops.SwapAxes(x.Reshape(x.Shape[0], x.Shape[1], x.Shape[2] * x.Shape[3]), 1);
}
