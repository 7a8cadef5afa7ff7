using Dsoup.Kernels.Nn;
using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>The column matrix of a convolution (see <see cref="ConvGeometry"/>) and its adjoint, as grid-stride loops.</summary>
public static class ConvolutionKernels
{
    [GpuKernel]
    public static void ImageToColumns<T, E>(ArrayView<T> image, ArrayView<T> columns, ConvGeometry g, int firstPixel, int pixels)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        long count = (long)pixels * g.Patch;
        int window = g.KernelHeight * g.KernelWidth;
        for (long i = Grid.GlobalIndex.X; i < count; i += (long)Grid.DimX * Group.DimX)
        {
            int pixel = firstPixel + (int)(i / g.Patch), k = (int)(i % g.Patch);
            int c = k / window, ky = k % window / g.KernelWidth, kx = k % g.KernelWidth;
            int iy = pixel / g.OutputWidth * g.Stride - g.PadTop + ky;
            int ix = pixel % g.OutputWidth * g.Stride - g.PadLeft + kx;
            columns[i] = iy < 0 || iy >= g.Height || ix < 0 || ix >= g.Width
                ? default
                : image[((long)c * g.Height + iy) * g.Width + ix];
        }
    }

    /// <summary>Each image element gathers the column entries of rows [firstPixel, firstPixel + pixels) that read it, and adds them.</summary>
    [GpuKernel]
    public static void ColumnsToImage<T, E>(ArrayView<T> columns, ArrayView<T> image, ConvGeometry g, int firstPixel, int pixels)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        int plane = g.Height * g.Width, window = g.KernelHeight * g.KernelWidth;
        for (long i = Grid.GlobalIndex.X; i < g.ImageCount; i += (long)Grid.DimX * Group.DimX)
        {
            int c = (int)(i / plane), iy = (int)(i % plane) / g.Width, ix = (int)(i % g.Width);
            float sum = 0f;
            for (int ky = 0; ky < g.KernelHeight; ky++)
            {
                int oy = ConvGeometry.OutputAt(iy + g.PadTop - ky, g.Stride, g.OutputHeight);
                for (int kx = 0; kx < g.KernelWidth && oy >= 0; kx++)
                {
                    int ox = ConvGeometry.OutputAt(ix + g.PadLeft - kx, g.Stride, g.OutputWidth);
                    int p = oy * g.OutputWidth + ox - firstPixel;
                    if (ox >= 0 && p >= 0 && p < pixels)
                    {
                        sum += e.Load(columns[(long)p * g.Patch + c * window + ky * g.KernelWidth + kx]);
                    }
                }
            }
            image[i] = e.Store(e.Load(image[i]) + sum);
        }
    }
}
