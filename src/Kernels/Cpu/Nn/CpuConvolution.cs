using System.Buffers;
using System.Runtime.InteropServices;
using Dsoup.Kernels.Cpu.Gemm;
using Dsoup.Kernels.Nn;

namespace Dsoup.Kernels.Cpu.Nn;

/// <summary>
/// 2-D convolution on the CPU as GEMMs over tiles of each image's column matrix (see <see cref="ConvGeometry"/>):
/// a tile of output pixels is unfolded, multiplied in place with the blocked GEMM, and dropped, so memory
/// beyond the output is one tile whatever the image size. Backward unfolds each tile once for both gradients.
/// </summary>
internal static unsafe class CpuConvolution
{
    /// <summary>Elements of one column tile: 8 MiB of f32, large enough that the GEMMs run near their peak.</summary>
    private const long DefaultColumnBudget = 1L << 21;

    /// <summary>Overrides the tile budget on this thread (tests use tiny tiles to cross tile edges).</summary>
    [ThreadStatic]
    internal static long? ColumnBudget;

    public static void Forward(DType dtype, nint x, nint weight, nint bias, nint y, ConvShape s, MicroKernel kernel)
    {
        switch (dtype)
        {
            case DType.F32:
                Forward<F32Reader>(dtype, x, weight, bias, y, s, kernel);
                break;
            case DType.F16:
                Forward<F16Reader>(dtype, x, weight, bias, y, s, kernel);
                break;
            default:
                Forward<BF16Reader>(dtype, x, weight, bias, y, s, kernel);
                break;
        }
    }

    public static void Backward(DType dtype, nint x, nint weight, nint gradOutput, nint gradInput, nint gradWeight, ConvShape s, MicroKernel kernel)
    {
        switch (dtype)
        {
            case DType.F32:
                Backward<F32Reader>(dtype, x, weight, gradOutput, gradInput, gradWeight, s, kernel);
                break;
            case DType.F16:
                Backward<F16Reader>(dtype, x, weight, gradOutput, gradInput, gradWeight, s, kernel);
                break;
            default:
                Backward<BF16Reader>(dtype, x, weight, gradOutput, gradInput, gradWeight, s, kernel);
                break;
        }
    }

    /// <summary>
    /// Per tile: result[pixels, O] = columns · Wᵀ into f32 scratch, then stored transposed into the NCHW output
    /// with the bias added, rounded once.
    /// </summary>
    private static void Forward<TReader>(DType dtype, nint x, nint weight, nint bias, nint y, ConvShape s, MicroKernel kernel)
        where TReader : struct, IElementReader
    {
        ConvGeometry g = s.Image;
        int size = dtype.Size(), outChannels = s.OutChannels, tile = Tile(g);
        nint columns = (nint)ScratchMemory.Floats(ScratchMemory.ConvolutionColumns, (long)tile * g.Patch);
        nint result = (nint)ScratchMemory.Floats(ScratchMemory.ConvolutionResult, (long)outChannels * tile);
        ForEachTile(g, s.Batch, tile, (n, first, pixels) =>
        {
            ImageToColumns(size, x + (nint)(n * g.ImageCount * size), columns, g, first, pixels);
            long outputStart = (long)n * outChannels * g.Pixels + first;
            CpuGemm.OnAllCores<TReader, TReader>(new StridedProduct(pixels, outChannels, g.Patch,
                columns, g.Patch, false, weight, g.Patch, true, result, outChannels), kernel);
            CpuParallel.For(outChannels, Math.Max(1, CpuParallel.StreamingGrain / pixels), (o0, o1) =>
            {
                float[] rented = ArrayPool<float>.Shared.Rent(pixels);
                Span<float> row = rented.AsSpan(0, pixels);
                float* values = (float*)result;
                for (long o = o0; o < o1; o++)
                {
                    float b = bias != 0 ? TReader.Read(bias, o) : 0f;
                    for (int p = 0; p < pixels; p++)
                    {
                        row[p] = values[(long)p * outChannels + o] + b;
                    }
                    ElementBlocks.Store(dtype, row, y, outputStart + o * g.Pixels);
                }
                ArrayPool<float>.Shared.Return(rented);
            });
        });
    }

    /// <summary>
    /// Per tile, from one unfolding: dW[O, patch] += gradRows · columns (f32, in the result itself when it is
    /// f32), and dColumns = gradRowsᵀ · W added back into the input's gradient. gradRows is the tile's
    /// [O, pixels] block of the output gradient, read in place.
    /// </summary>
    private static void Backward<TReader>(DType dtype, nint x, nint weight, nint gradOutput, nint gradInput, nint gradWeight, ConvShape s, MicroKernel kernel)
        where TReader : struct, IElementReader
    {
        ConvGeometry g = s.Image;
        int size = dtype.Size(), outChannels = s.OutChannels, tile = Tile(g);
        nint columns = (nint)ScratchMemory.Floats(ScratchMemory.ConvolutionColumns, (long)tile * g.Patch);
        float* columnGradients = ScratchMemory.Floats(ScratchMemory.ConvolutionColumnGradients, (long)tile * g.Patch);
        bool direct = dtype == DType.F32;
        float* weightSum = direct ? (float*)gradWeight : (float*)NativeMemory.AlignedAlloc((nuint)(s.WeightCount * sizeof(float)), NativeBuffer.Alignment);
        try
        {
            NativeMemory.Clear((void*)gradInput, (nuint)(s.InputCount * size));
            bool firstTile = true;
            ForEachTile(g, s.Batch, tile, (n, first, pixels) =>
            {
                ImageToColumns(size, x + (nint)(n * g.ImageCount * size), columns, g, first, pixels);
                nint gradRows = gradOutput + (nint)(((long)n * outChannels * g.Pixels + first) * size);
                CpuGemm.OnAllCores<TReader, TReader>(new StridedProduct(outChannels, g.Patch, pixels,
                    gradRows, g.Pixels, false, columns, g.Patch, false, (nint)weightSum, g.Patch, Beta: firstTile ? 0f : 1f), kernel);
                firstTile = false;
                CpuGemm.OnAllCores<TReader, TReader>(new StridedProduct(pixels, g.Patch, outChannels,
                    gradRows, g.Pixels, true, weight, g.Patch, false, (nint)columnGradients, g.Patch), kernel);
                ColumnsToImage(dtype, columnGradients, gradInput + (nint)(n * g.ImageCount * size), g, first, pixels);
            });
            if (!direct)
            {
                for (long start = 0; start < s.WeightCount; start += int.MaxValue / 2)
                {
                    int count = (int)Math.Min(int.MaxValue / 2, s.WeightCount - start);
                    ElementBlocks.Store(dtype, new ReadOnlySpan<float>(weightSum + start, count), gradWeight, start);
                }
            }
        }
        finally
        {
            if (!direct)
            {
                NativeMemory.AlignedFree(weightSum);
            }
        }
    }

    private static int Tile(ConvGeometry g) =>
        (int)Math.Clamp((ColumnBudget ?? DefaultColumnBudget) / Math.Max(1, g.Patch), 1, Math.Max(1, g.Pixels));

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

    private static void ImageToColumns(int elementSize, nint image, nint columns, ConvGeometry g, int firstPixel, int pixels)
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

    /// <summary>
    /// Writes rows [firstPixel, firstPixel + pixels) of the image's column matrix, [pixels, Patch], copying
    /// elements as they are (no widening); padding reads as zero.
    /// </summary>
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

    /// <summary>
    /// Adds each f32 column entry into the image element it was read from, per channel plane (channels are
    /// split across threads, so no two threads touch one element), visiting only the input rows this
    /// tile's output rows read. Each element's sum runs in a fixed order: pixels, then window positions.
    /// </summary>
    private static void ColumnsToImage(DType dtype, float* columns, nint image, ConvGeometry g, int firstPixel, int pixels)
    {
        int plane = g.Height * g.Width, window = g.KernelHeight * g.KernelWidth;
        int firstRow = Math.Max(0, firstPixel / g.OutputWidth * g.Stride - g.PadTop);
        int lastRow = Math.Min(g.Height - 1, (firstPixel + pixels - 1) / g.OutputWidth * g.Stride - g.PadTop + g.KernelHeight - 1);
        if (lastRow < firstRow)
        {
            return;
        }
        int span = (lastRow - firstRow + 1) * g.Width;
        nint entries = (nint)columns;
        CpuParallel.For(g.Channels, Math.Max(1, CpuParallel.StreamingGrain / ((long)pixels * window)), (c0, c1) =>
        {
            float[] rented = ArrayPool<float>.Shared.Rent(span);
            Span<float> values = rented.AsSpan(0, span);
            float* column = (float*)entries;
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
                                values[at + kx] += column[entry + kx];
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
