using Dsoup.Kernels.Nn;
using Dsoup.Kernels.Numerics;

namespace Dsoup.Kernels.Cpu.Nn;

/// <summary>The column matrix of a convolution (see <see cref="ConvGeometry"/>) and its adjoint, on the CPU.</summary>
internal static unsafe class CpuConvolution
{
    public static void ImageToColumns(int elementSize, nint image, nint columns, ConvGeometry g, int firstPixel, int pixels)
    {
        int outWidth = g.OutputWidth;
        CpuParallel.For(pixels, Math.Max(1, CpuParallel.StreamingGrain / g.Patch), (p0, p1) =>
        {
            for (long p = p0; p < p1; p++)
            {
                int pixel = firstPixel + (int)p;
                int oy = pixel / outWidth, ox = pixel % outWidth;
                byte* row = (byte*)columns + p * g.Patch * elementSize;
                int k = 0;
                for (int c = 0; c < g.Channels; c++)
                {
                    for (int ky = 0; ky < g.KernelHeight; ky++)
                    {
                        int iy = oy * g.Stride - g.PadTop + ky;
                        for (int kx = 0; kx < g.KernelWidth; kx++, k++)
                        {
                            int ix = ox * g.Stride - g.PadLeft + kx;
                            byte* to = row + k * elementSize;
                            if (iy < 0 || iy >= g.Height || ix < 0 || ix >= g.Width)
                            {
                                new Span<byte>(to, elementSize).Clear();
                            }
                            else
                            {
                                byte* from = (byte*)image + (((long)c * g.Height + iy) * g.Width + ix) * elementSize;
                                Buffer.MemoryCopy(from, to, elementSize, elementSize);
                            }
                        }
                    }
                }
            }
        });
    }

    /// <summary>Each image element gathers the column entries that read it (no scatter, so no races), per channel plane.</summary>
    public static void ColumnsToImage(DType dtype, nint columns, nint image, ConvGeometry g, int firstPixel, int pixels)
    {
        int plane = g.Height * g.Width, window = g.KernelHeight * g.KernelWidth;
        CpuParallel.For(g.Channels, 1, (c0, c1) =>
        {
            var values = new float[plane];
            for (long c = c0; c < c1; c++)
            {
                ElementBlocks.Load(dtype, image, c * plane, values);
                for (int iy = 0; iy < g.Height; iy++)
                {
                    for (int ix = 0; ix < g.Width; ix++)
                    {
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
                                    sum += Read(dtype, columns, (long)p * g.Patch + c * window + ky * g.KernelWidth + kx);
                                }
                            }
                        }
                        values[iy * g.Width + ix] += sum;
                    }
                }
                ElementBlocks.Store(dtype, values, image, c * plane);
            }
        });
    }

    private static float Read(DType dtype, nint address, long index) => dtype switch
    {
        DType.F32 => ((float*)address)[index],
        DType.F16 => HalfBits.F16ToSingle(((ushort*)address)[index]),
        _ => HalfBits.BF16ToSingle(((ushort*)address)[index]),
    };
}
