using System.Buffers;
using System.Numerics.Tensors;

namespace Dsoup.Kernels.Cpu;

/// <summary>Sums over the middle axis of [Outer, Extent, Inner] and the matching broadcast, in a fixed order.</summary>
internal static class CpuReductions
{
    /// <summary>Inner positions handled by one task when Inner &gt; 1.</summary>
    private const int InnerTile = 4096;

    public static void SumAxis(DType dtype, nint source, nint result, ReduceShape shape, float scale)
    {
        long outer = shape.Outer, extent = shape.Extent, inner = shape.Inner;
        if (inner == 1)
        {
            // Contiguous rows: block sums in f32 (vectorised), blocks added in f64.
            CpuParallel.For(outer, Math.Max(1, CpuParallel.StreamingGrain / Math.Max(1, extent)), (o0, o1) =>
            {
                Span<float> block = stackalloc float[ElementBlocks.Size];
                Span<float> one = stackalloc float[1];
                for (long o = o0; o < o1; o++)
                {
                    double total = 0;
                    for (long e = 0; e < extent; e += ElementBlocks.Size)
                    {
                        int n = (int)Math.Min(ElementBlocks.Size, extent - e);
                        ElementBlocks.Load(dtype, source, o * extent + e, block[..n]);
                        total += TensorPrimitives.Sum<float>(block[..n]);
                    }
                    one[0] = (float)(total * scale);
                    ElementBlocks.Store(dtype, one, result, o);
                }
            });
            return;
        }
        long tiles = (inner + InnerTile - 1) / InnerTile;
        CpuParallel.For(outer * tiles, 1, (t0, t1) =>
        {
            float[] rented = ArrayPool<float>.Shared.Rent(2 * InnerTile);
            try
            {
                for (long t = t0; t < t1; t++)
                {
                    long o = t / tiles, i0 = t % tiles * InnerTile;
                    int n = (int)Math.Min(InnerTile, inner - i0);
                    Span<float> acc = rented.AsSpan(0, n);
                    Span<float> row = rented.AsSpan(InnerTile, n);
                    acc.Clear();
                    for (long e = 0; e < extent; e++)
                    {
                        ElementBlocks.Load(dtype, source, (o * extent + e) * inner + i0, row);
                        TensorPrimitives.Add(acc, row, acc);
                    }
                    TensorPrimitives.Multiply(acc, scale, acc);
                    ElementBlocks.Store(dtype, acc, result, o * inner + i0);
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(rented);
            }
        });
    }

    public static void BroadcastAxis(DType dtype, nint source, nint result, ReduceShape shape, float scale)
    {
        long extent = shape.Extent, inner = shape.Inner;
        CpuParallel.For(shape.Outer * extent, Math.Max(1, CpuParallel.StreamingGrain / Math.Max(1, inner)), (r0, r1) =>
        {
            Span<float> block = stackalloc float[ElementBlocks.Size];
            for (long r = r0; r < r1; r++)
            {
                long o = r / extent;
                for (long i = 0; i < inner; i += ElementBlocks.Size)
                {
                    int n = (int)Math.Min(ElementBlocks.Size, inner - i);
                    ElementBlocks.Load(dtype, source, o * inner + i, block[..n]);
                    TensorPrimitives.Multiply(block[..n], scale, block[..n]);
                    ElementBlocks.Store(dtype, block[..n], result, r * inner + i);
                }
            }
        });
    }
}
