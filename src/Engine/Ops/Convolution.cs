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
    /// <summary>
    /// 2-D convolution of x [N, C, H, W] with weight [O, C, kh, kw] and an optional bias [O], zero padding,
    /// one stride for both axes. The backend never holds the whole column matrix (CPU: GEMMs over tiles of
    /// it; GPU: an implicit GEMM reading the image in place).
    /// </summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, int stride, Padding2d padding)
    {
        var shape = new ConvShape(x.Shape[0], weight.Shape[0], CheckConvolution(x, weight, bias, stride, padding));
        ConvGeometry g = shape.Image;
        Tensor y = Tensor.Empty(new Shape(shape.Batch, shape.OutChannels, g.OutputHeight, g.OutputWidth), x.DType, x.Device);
        x.Device.Backend.Convolution(x.DType, x.View, weight.View, bias?.View, y.View, shape);
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        Tape.Record("Conv2d", inputs, [y], grads => ConvolutionBackward(x, weight, bias, grads[0], shape), force: false);
        return y;
    }

    private static Tensor?[] ConvolutionBackward(Tensor x, Tensor weight, Tensor? bias, Tensor grad, ConvShape shape)
    {
        IBackend backend = x.Device.Backend;
        Tensor gradInput = Tensor.Empty(x.Shape, x.DType, x.Device);
        Tensor gradWeight = Tensor.Empty(weight.Shape, x.DType, x.Device);
        backend.ConvolutionBackward(x.DType, x.View, weight.View, grad.View, gradInput.View, gradWeight.View, shape);
        if (bias is null)
        {
            return [gradInput, gradWeight];
        }
        // Σ over pixels, then over the batch.
        int pixels = shape.Image.Pixels;
        using Tensor perImage = Tensor.Empty(new Shape(shape.Batch, shape.OutChannels), x.DType, x.Device);
        backend.SumAxis(x.DType, grad.View, perImage.View, new ReduceShape((long)shape.Batch * shape.OutChannels, pixels, 1), 1f);
        Tensor gradBias = Tensor.Empty(bias.Shape, x.DType, x.Device);
        backend.SumAxis(x.DType, perImage.View, gradBias.View, new ReduceShape(1, shape.Batch, shape.OutChannels), 1f);
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
}
