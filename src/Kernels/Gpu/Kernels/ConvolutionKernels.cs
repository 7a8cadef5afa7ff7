using System.Runtime.CompilerServices;
using Dsoup.Kernels.Nn;
using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>
/// The forward convolution as an implicit GEMM per image: result[o, pixel] = Σ_patch W[o, patch] · x̂[patch, pixel],
/// where x̂ is the image's column matrix read in place (zero on padding). Written straight to NCHW, bias added.
/// </summary>
public struct ConvolutionOperands(ConvShape shape, bool bias) : IGemmOperands
{
    private readonly ConvShape s = shape;
    private readonly int hasBias = bias ? 1 : 0;

    public readonly int M => s.OutChannels;

    public readonly int N => s.Image.Pixels;

    public readonly int K => s.Image.Patch;

    public readonly bool AAlongK => true;

    public readonly bool BAlongK => false;

    public readonly float Alpha => 1f;

    public readonly float Beta => 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly long IndexA(int batch, int row, int k) => (long)row * s.Image.Patch + k;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly long IndexB(int batch, int k, int column)
    {
        long at = s.Image.InputIndex(column, k);
        return at < 0 ? -1 : batch * s.Image.ImageCount + at;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly long IndexC(int batch, int row, int column) => ((long)batch * s.OutChannels + row) * s.Image.Pixels + column;

    public readonly long IndexBias(int row, int column) => hasBias != 0 ? row : -1;
}

/// <summary>
/// The input's gradient as an implicit GEMM per image: dx[c, (iy, ix)] = Σ_(o, ky, kx) W[o, c, ky, kx] · dy[o, oy, ox]
/// over the output pixels whose window reads (iy, ix). Every input element is written once, with no atomics.
/// </summary>
public struct ConvolutionInputGradientOperands(ConvShape shape) : IGemmOperands
{
    private readonly ConvShape s = shape;

    public readonly int M => s.Image.Channels;

    public readonly int N => s.Image.Height * s.Image.Width;

    public readonly int K => s.OutChannels * s.Image.KernelHeight * s.Image.KernelWidth;

    public readonly bool AAlongK => true;

    public readonly bool BAlongK => false;

    public readonly float Alpha => 1f;

    public readonly float Beta => 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly long IndexA(int batch, int row, int k)
    {
        int window = s.Image.KernelHeight * s.Image.KernelWidth;
        return ((long)(k / window) * s.Image.Channels + row) * window + k % window;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly long IndexB(int batch, int k, int column)
    {
        ConvGeometry g = s.Image;
        int window = g.KernelHeight * g.KernelWidth;
        int o = k / window, ky = k % window / g.KernelWidth, kx = k % g.KernelWidth;
        int oy = ConvGeometry.OutputAt(column / g.Width + g.PadTop - ky, g.Stride, g.OutputHeight);
        int ox = ConvGeometry.OutputAt(column % g.Width + g.PadLeft - kx, g.Stride, g.OutputWidth);
        return oy < 0 || ox < 0 ? -1 : (((long)batch * s.OutChannels + o) * g.OutputHeight + oy) * g.OutputWidth + ox;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly long IndexC(int batch, int row, int column) => batch * s.Image.ImageCount + (long)row * N + column;

    public readonly long IndexBias(int row, int column) => -1;
}

/// <summary>
/// The weight's gradient as one implicit GEMM over the whole batch: dW[o, patch] = Σ_(n, pixel) dy[n, o, pixel] · x̂_n[pixel, patch],
/// accumulated in f32 registers across every image and rounded once.
/// </summary>
public struct ConvolutionWeightGradientOperands(ConvShape shape) : IGemmOperands
{
    private readonly ConvShape s = shape;

    public readonly int M => s.OutChannels;

    public readonly int N => s.Image.Patch;

    public readonly int K => s.Batch * s.Image.Pixels;

    public readonly bool AAlongK => true;

    public readonly bool BAlongK => true;

    public readonly float Alpha => 1f;

    public readonly float Beta => 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly long IndexA(int batch, int row, int k)
    {
        int pixels = s.Image.Pixels;
        return ((long)(k / pixels) * s.OutChannels + row) * pixels + k % pixels;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly long IndexB(int batch, int k, int column)
    {
        int pixels = s.Image.Pixels;
        long at = s.Image.InputIndex(k % pixels, column);
        return at < 0 ? -1 : k / pixels * s.Image.ImageCount + at;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly long IndexC(int batch, int row, int column) => (long)row * s.Image.Patch + column;

    public readonly long IndexBias(int row, int column) => -1;
}

/// <summary>Convolution forward and backward as implicit GEMMs on the shared tiled body (<see cref="ImplicitGemm"/>).</summary>
public static class ConvolutionKernels
{
    [GpuKernel]
    public static void Forward<T, E>(ArrayView<T> x, ArrayView<T> weight, ArrayView<T> bias, ArrayView<T> y, ConvolutionOperands ops)
        where T : unmanaged
        where E : struct, IElement<T> =>
        ImplicitGemm.Run<T, E, ConvolutionOperands>(weight, x, y, bias, ops);

    [GpuKernel]
    public static void BackwardInput<T, E>(ArrayView<T> weight, ArrayView<T> gradOutput, ArrayView<T> gradInput, ConvolutionInputGradientOperands ops)
        where T : unmanaged
        where E : struct, IElement<T> =>
        ImplicitGemm.Run<T, E, ConvolutionInputGradientOperands>(weight, gradOutput, gradInput, gradInput, ops);

    [GpuKernel]
    public static void BackwardWeight<T, E>(ArrayView<T> gradOutput, ArrayView<T> x, ArrayView<T> gradWeight, ConvolutionWeightGradientOperands ops)
        where T : unmanaged
        where E : struct, IElement<T> =>
        ImplicitGemm.Run<T, E, ConvolutionWeightGradientOperands>(gradOutput, x, gradWeight, gradWeight, ops);
}
