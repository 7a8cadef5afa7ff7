using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>
/// Sums over the middle axis of [outer, extent, inner] and the adjoint broadcast. Every sum runs in
/// a fixed order (no atomics), so results are the same from run to run.
/// </summary>
public static class ReductionKernels
{
    /// <summary>Threads per group in <see cref="SumAxisPerGroup{T, E}"/>; launches must use exactly this.</summary>
    public const int GroupSize = 256;

    /// <summary>One thread per output, looping over the extent: for short extents.</summary>
    [GpuKernel]
    public static void SumAxisPerThread<T, E>(ArrayView<T> source, ArrayView<T> result,
        long outer, long extent, long inner, float scale)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        long outputs = outer * inner;
        for (long o = Grid.GlobalIndex.X; o < outputs; o += Grid.DimX * Group.DimX)
        {
            long first = o / inner * extent * inner + o % inner;
            float sum = 0f;
            for (long j = 0; j < extent; j++)
            {
                sum += e.Load(source[first + j * inner]);
            }
            result[o] = e.Store(sum * scale);
        }
    }

    /// <summary>One group per output: strided partial sums, then a shared-memory tree: for long extents.</summary>
    [GpuKernel]
    public static void SumAxisPerGroup<T, E>(ArrayView<T> source, ArrayView<T> result,
        long outer, long extent, long inner, float scale)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        var partial = SharedMemory.Allocate<float>(GroupSize);
        int tid = Group.IdxX;
        long outputs = outer * inner;
        for (long o = Grid.IdxX; o < outputs; o += Grid.DimX)
        {
            long first = o / inner * extent * inner + o % inner;
            float sum = 0f;
            for (long j = tid; j < extent; j += GroupSize)
            {
                sum += e.Load(source[first + j * inner]);
            }
            partial[tid] = sum;
            Group.Barrier();
            for (int stride = GroupSize / 2; stride > 0; stride /= 2)
            {
                if (tid < stride)
                {
                    partial[tid] += partial[tid + stride];
                }
                Group.Barrier();
            }
            if (tid == 0)
            {
                result[o] = e.Store(partial[0] * scale);
            }
            Group.Barrier();
        }
    }

    [GpuKernel]
    public static void BroadcastAxis<T, E>(ArrayView<T> source, ArrayView<T> result,
        long outer, long extent, long inner, float scale)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        long count = outer * extent * inner;
        for (long i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX)
        {
            long o = i / (extent * inner);
            result[i] = e.Store(scale * e.Load(source[o * inner + i % inner]));
        }
    }
}
