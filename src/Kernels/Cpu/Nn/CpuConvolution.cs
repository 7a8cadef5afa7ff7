using System.Buffers;
using Dsoup.Kernels.Cpu.Gemm;
using Dsoup.Kernels.Nn;

namespace Dsoup.Kernels.Cpu.Nn;

/// <summary>The column matrix of a convolution (see <see cref="ConvGeometry"/>) and its adjoint, on the CPU.</summary>
internal static unsafe class CpuConvolution
{
    public static void ImageToColumns(int elementSize, nint image, nint columns, ConvGeometry g, int firstPixel, int pixels)
    {
        if (elementSize == sizeof(float))
        {
            ImageToColumns<float>(image, columns, g, firstPixel, pixels);
        }
        else
        {
            ImageToColumns<ushort>(image, columns, g, firstPixel, pixels);
        }
    }

    /// <summary>Copies elements as they are (no widening): one column row per output pixel, padding zero.</summary>
    private static void ImageToColumns<T>(nint image, nint columns, ConvGeometry g, int firstPixel, int pixels)
        where T : unmanaged
    {
        int outWidth = g.OutputWidth;
        CpuParallel.For(pixels, Math.Max(1, CpuParallel.StreamingGrain / g.Patch), (p0, p1) =>
        {
            for (long p = p0; p < p1; p++)
            {
                int pixel = firstPixel + (int)p;
                int oy = pixel / outWidth, ox = pixel % outWidth;
                int x0 = ox * g.Stride - g.PadLeft;
                // The window's columns inside the image: [kxStart, kxEnd).
                int kxStart = Math.Max(0, -x0), kxEnd = Math.Min(g.KernelWidth, g.Width - x0);
                T* row = (T*)columns + p * g.Patch;
                for (int c = 0; c < g.Channels; c++)
                {
                    for (int ky = 0; ky < g.KernelHeight; ky++, row += g.KernelWidth)
                    {
                        int iy = oy * g.Stride - g.PadTop + ky;
                        var window = new Span<T>(row, g.KernelWidth);
                        if (iy < 0 || iy >= g.Height || kxStart >= kxEnd)
                        {
                            window.Clear();
                            continue;
                        }
                        window[..kxStart].Clear();
                        new ReadOnlySpan<T>((T*)image + ((long)c * g.Height + iy) * g.Width + x0 + kxStart, kxEnd - kxStart)
                            .CopyTo(window[kxStart..]);
                        window[kxEnd..].Clear();
                    }
                }
            }
        });
    }

    public static void ColumnsToImage(DType dtype, nint columns, nint image, ConvGeometry g, int firstPixel, int pixels)
    {
        switch (dtype)
        {
            case DType.F32:
                ColumnsToImage<F32Reader>(dtype, columns, image, g, firstPixel, pixels);
                break;
            case DType.F16:
                ColumnsToImage<F16Reader>(dtype, columns, image, g, firstPixel, pixels);
                break;
            default:
                ColumnsToImage<BF16Reader>(dtype, columns, image, g, firstPixel, pixels);
                break;
        }
    }

    /// <summary>
    /// Adds each column entry into the image element it was read from, per channel plane (channels are
    /// split across threads, so no two threads touch one element), visiting only the input rows this
    /// tile's output rows read. Each element's sum runs in a fixed order: pixels, then window positions.
    /// </summary>
    private static void ColumnsToImage<TReader>(DType dtype, nint columns, nint image, ConvGeometry g, int firstPixel, int pixels)
        where TReader : struct, IElementReader
    {
        int plane = g.Height * g.Width, window = g.KernelHeight * g.KernelWidth;
        int firstRow = Math.Max(0, firstPixel / g.OutputWidth * g.Stride - g.PadTop);
        int lastRow = Math.Min(g.Height - 1, (firstPixel + pixels - 1) / g.OutputWidth * g.Stride - g.PadTop + g.KernelHeight - 1);
        if (lastRow < firstRow)
        {
            return;
        }
        int span = (lastRow - firstRow + 1) * g.Width;
        CpuParallel.For(g.Channels, Math.Max(1, CpuParallel.StreamingGrain / ((long)pixels * window)), (c0, c1) =>
        {
            float[] rented = ArrayPool<float>.Shared.Rent(span);
            Span<float> values = rented.AsSpan(0, span);
            try
            {
                for (long c = c0; c < c1; c++)
                {
                    long start = c * plane + (long)firstRow * g.Width;
                    ElementBlocks.Load(dtype, image, start, values);
                    for (int p = 0; p < pixels; p++)
                    {
                        int pixel = firstPixel + p;
                        int y0 = pixel / g.OutputWidth * g.Stride - g.PadTop, x0 = pixel % g.OutputWidth * g.Stride - g.PadLeft;
                        int kxStart = Math.Max(0, -x0), kxEnd = Math.Min(g.KernelWidth, g.Width - x0);
                        long entry = (long)p * g.Patch + c * window;
                        for (int ky = 0; ky < g.KernelHeight; ky++, entry += g.KernelWidth)
                        {
                            int iy = y0 + ky;
                            if (iy < 0 || iy >= g.Height)
                            {
                                continue;
                            }
                            int at = (iy - firstRow) * g.Width + x0;
                            for (int kx = kxStart; kx < kxEnd; kx++)
                            {
                                values[at + kx] += TReader.Read(columns, entry + kx);
                            }
                        }
                    }
                    ElementBlocks.Store(dtype, values, image, start);
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(rented);
            }
        });
    }
}
