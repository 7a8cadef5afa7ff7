using Dsoup.Engine.Autograd;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels;
using Dsoup.Kernels.Nn;

namespace Dsoup.Engine;

/// <summary>Zero padding per side of a 2-D convolution's input.</summary>
public readonly record struct Padding2d(int Top, int Left, int Bottom, int Right)
{
    public static Padding2d Same(int pad) => new(pad, pad, pad, pad);

    /// <summary>The VAE downsampler's padding: one row at the bottom and one column at the right.</summary>
    public static Padding2d BottomRight(int pad) => new(0, 0, pad, pad);
}

public static partial class Ops
{
    /// <summary>Elements of the column buffer one convolution tile may use: the whole image's column matrix is never held.</summary>
    private const long DefaultConvolutionColumnBudget = 1L << 21;

    /// <summary>Overrides the tile budget on this thread (tests use tiny tiles to cross tile edges).</summary>
    [ThreadStatic]
    internal static long? ConvolutionColumnBudget;

    /// <summary>
    /// 2-D convolution of x [N, C, H, W] with weight [O, C, kh, kw] and an optional bias [O], zero padding,
    /// one stride for both axes. Runs per image as GEMMs over tiles of the column matrix (see
    /// <see cref="ConvGeometry"/>), so memory beyond the output is one tile; backward recomputes the tiles.
    /// </summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, int stride, Padding2d padding)
    {
        ConvGeometry g = CheckConvolution(x, weight, bias, stride, padding);
        int batch = x.Shape[0], outChannels = weight.Shape[0];
        IBackend backend = x.Device.Backend;
        int tile = ConvolutionTile(g);
        using Tensor nhwc = Tensor.Empty(new Shape(batch, g.Pixels, outChannels), x.DType, x.Device);
        if (bias is not null)
        {
            backend.BroadcastAxis(x.DType, bias.View, nhwc.View, new ReduceShape(1, (long)batch * g.Pixels, outChannels), 1f);
        }
        using (Tensor columns = Tensor.Empty(new Shape(tile, g.Patch), x.DType, x.Device))
        {
            ForEachTile(g, batch, tile, (n, first, pixels) =>
            {
                backend.ImageToColumns(x.DType, x.ViewAt(n * g.ImageCount), columns.View, g, first, pixels);
                backend.Gemm(new GemmProblem(1, pixels, outChannels, g.Patch, false, true, x.DType,
                    columns.View, 0, weight.View, 0, nhwc.ViewAt(((long)n * g.Pixels + first) * outChannels), 0,
                    Beta: bias is null ? 0f : 1f));
            });
        }
        Tensor y = Tensor.Empty(new Shape(batch, outChannels, g.OutputHeight, g.OutputWidth), x.DType, x.Device);
        backend.SwapAxes(x.DType, nhwc.View, y.View, new AxisSwap(batch, g.Pixels, outChannels, 1));
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        Tape.Record("Conv2d", inputs, [y], grads => ConvolutionBackward(x, weight, bias, grads[0], g, tile), force: false);
        return y;
    }

    private static Tensor?[] ConvolutionBackward(Tensor x, Tensor weight, Tensor? bias, Tensor grad, ConvGeometry g, int tile)
    {
        IBackend backend = x.Device.Backend;
        int batch = x.Shape[0], outChannels = weight.Shape[0];
        using Tensor gradNhwc = Tensor.Empty(new Shape(batch, g.Pixels, outChannels), x.DType, x.Device);
        backend.SwapAxes(x.DType, grad.View, gradNhwc.View, new AxisSwap(batch, outChannels, g.Pixels, 1));
        Tensor gradInput = Tensor.Zeros(x.Shape, x.DType, x.Device);
        Tensor gradWeight = Tensor.Empty(weight.Shape, x.DType, x.Device);
        using (Tensor columns = Tensor.Empty(new Shape(tile, g.Patch), x.DType, x.Device))
        {
            bool firstTile = true;
            ForEachTile(g, batch, tile, (n, first, pixels) =>
            {
                BufferView gradRows = gradNhwc.ViewAt(((long)n * g.Pixels + first) * outChannels);
                backend.ImageToColumns(x.DType, x.ViewAt(n * g.ImageCount), columns.View, g, first, pixels);
                // dW[O, patch] += gradRowsᵀ · columns
                backend.Gemm(new GemmProblem(1, outChannels, g.Patch, pixels, true, false, x.DType,
                    gradRows, 0, columns.View, 0, gradWeight.View, 0, Beta: firstTile ? 0f : 1f));
                firstTile = false;
                // dColumns = gradRows · W, then back into the image's gradient.
                backend.Gemm(new GemmProblem(1, pixels, g.Patch, outChannels, false, false, x.DType,
                    gradRows, 0, weight.View, 0, columns.View, 0));
                backend.ColumnsToImage(x.DType, columns.View, gradInput.ViewAt(n * g.ImageCount), g, first, pixels);
            });
        }
        if (bias is null)
        {
            return [gradInput, gradWeight];
        }
        Tensor gradBias = Tensor.Empty(bias.Shape, x.DType, x.Device);
        backend.SumAxis(x.DType, gradNhwc.View, gradBias.View, new ReduceShape(1, (long)batch * g.Pixels, outChannels), 1f);
        return [gradInput, gradWeight, gradBias];
    }

    private static ConvGeometry CheckConvolution(Tensor x, Tensor weight, Tensor? bias, int stride, Padding2d padding)
    {
        const string op = "Conv2d";
        if (x.Shape.Rank != 4 || weight.Shape.Rank != 4)
        {
            throw new ArgumentException($"{op}: needs an [N, C, H, W] input and an [O, C, kh, kw] weight; got {x.Shape} and {weight.Shape}");
        }
        OpChecks.SameDevice(op, x, weight);
        OpChecks.SameDType(op, x, weight);
        if (weight.Shape[1] != x.Shape[1])
        {
            throw new ArgumentException($"{op}: the weight {weight.Shape} expects {weight.Shape[1]} input channels; the input {x.Shape} has {x.Shape[1]}");
        }
        if (bias is not null)
        {
            OpChecks.SameDevice(op, x, bias);
            OpChecks.SameDType(op, x, bias);
            if (bias.Shape != new Shape(weight.Shape[0]))
            {
                throw new ArgumentException($"{op}: the bias has shape {bias.Shape}; expected [{weight.Shape[0]}] for the weight {weight.Shape}");
            }
        }
        if (stride < 1 || padding.Top < 0 || padding.Left < 0 || padding.Bottom < 0 || padding.Right < 0)
        {
            throw new ArgumentException($"{op}: stride must be ≥ 1 and padding ≥ 0; got stride {stride}, padding {padding}");
        }
        var g = new ConvGeometry(x.Shape[1], x.Shape[2], x.Shape[3], weight.Shape[2], weight.Shape[3], stride,
            padding.Top, padding.Left, padding.Bottom, padding.Right);
        if (g.KernelHeight > g.Height + padding.Top + padding.Bottom || g.KernelWidth > g.Width + padding.Left + padding.Right)
        {
            throw new ArgumentException(
                $"{op}: the kernel of the weight {weight.Shape} is larger than the padded input {x.Shape} (padding {padding})");
        }
        return g;
    }

    private static int ConvolutionTile(ConvGeometry g) =>
        (int)Math.Clamp((ConvolutionColumnBudget ?? DefaultConvolutionColumnBudget) / Math.Max(1, g.Patch), 1, Math.Max(1, g.Pixels));

    private static void ForEachTile(ConvGeometry g, int batch, int tile, Action<int, int, int> body)
    {
        for (int n = 0; n < batch; n++)
        {
            for (int first = 0; first < g.Pixels; first += tile)
            {
                body(n, first, Math.Min(tile, g.Pixels - first));
            }
        }
    }
}
