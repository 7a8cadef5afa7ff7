using System.Numerics.Tensors;

namespace Dsoup.Kernels.Cpu;

/// <summary>
/// Elementwise maps on the CPU. f32 data is processed in place with <see cref="TensorPrimitives"/>;
/// f16/bf16 data is widened block by block into stack scratch, processed, and rounded back.
/// Large ranges are split across cores.
/// </summary>
internal static class CpuElementwise
{
    public delegate void Map1(ReadOnlySpan<float> x, Span<float> result);

    public delegate void Map2(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> result);

    public static void Unary(DType dtype, nint x, nint result, long count, Map1 map)
    {
        CpuParallel.For(count, CpuParallel.StreamingGrain, (start, end) =>
        {
            if (dtype == DType.F32)
            {
                map(CpuMemory.Span<float>(x, start, end - start), CpuMemory.Span<float>(result, start, end - start));
                return;
            }
            Span<float> xs = stackalloc float[ElementBlocks.Size];
            Span<float> rs = stackalloc float[ElementBlocks.Size];
            for (long s = start; s < end; s += ElementBlocks.Size)
            {
                int n = (int)Math.Min(ElementBlocks.Size, end - s);
                ElementBlocks.Load(dtype, x, s, xs[..n]);
                map(xs[..n], rs[..n]);
                ElementBlocks.Store(dtype, rs[..n], result, s);
            }
        });
    }

    public static void Binary(DType dtype, nint x, nint y, nint result, long count, Map2 map)
    {
        CpuParallel.For(count, CpuParallel.StreamingGrain, (start, end) =>
        {
            if (dtype == DType.F32)
            {
                long n32 = end - start;
                map(CpuMemory.Span<float>(x, start, n32), CpuMemory.Span<float>(y, start, n32),
                    CpuMemory.Span<float>(result, start, n32));
                return;
            }
            Span<float> xs = stackalloc float[ElementBlocks.Size];
            Span<float> ys = stackalloc float[ElementBlocks.Size];
            Span<float> rs = stackalloc float[ElementBlocks.Size];
            for (long s = start; s < end; s += ElementBlocks.Size)
            {
                int n = (int)Math.Min(ElementBlocks.Size, end - s);
                ElementBlocks.Load(dtype, x, s, xs[..n]);
                ElementBlocks.Load(dtype, y, s, ys[..n]);
                map(xs[..n], ys[..n], rs[..n]);
                ElementBlocks.Store(dtype, rs[..n], result, s);
            }
        });
    }

    public static Map2 For(BinaryOp op) => op switch
    {
        BinaryOp.Add => TensorPrimitives.Add,
        BinaryOp.Subtract => TensorPrimitives.Subtract,
        BinaryOp.Multiply => TensorPrimitives.Multiply,
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown binary op"),
    };
}
