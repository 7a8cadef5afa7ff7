using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>
/// Elementwise kernels as grid-stride loops: a fixed, small grid walks the whole range, which is
/// fast on GPUs and avoids one OS barrier per group on ILGPU's CPU accelerator.
/// </summary>
public static class ElementwiseKernels
{
    [GpuKernel]
    public static void Fill<T, E>(ArrayView<T> result, int count, float value)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        T stored = default(E).Store(value);
        for (int i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX)
        {
            result[i] = stored;
        }
    }

    /// <summary><paramref name="op"/> is a <see cref="BinaryOp"/> value; the branch is uniform across the grid.</summary>
    [GpuKernel]
    public static void Binary<T, E>(ArrayView<T> left, ArrayView<T> right, ArrayView<T> result, int count, int op)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        for (int i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX)
        {
            float a = e.Load(left[i]);
            float b = e.Load(right[i]);
            float r = op == (int)BinaryOp.Add ? a + b : op == (int)BinaryOp.Subtract ? a - b : a * b;
            result[i] = e.Store(r);
        }
    }

    [GpuKernel]
    public static void Scale<T, E>(ArrayView<T> x, ArrayView<T> result, int count, float alpha)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        for (int i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX)
        {
            result[i] = e.Store(alpha * e.Load(x[i]));
        }
    }

    [GpuKernel]
    public static void Axpy<T, E>(ArrayView<T> x, ArrayView<T> y, ArrayView<T> result, int count, float alpha)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        for (int i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX)
        {
            result[i] = e.Store(alpha * e.Load(x[i]) + e.Load(y[i]));
        }
    }

    [GpuKernel]
    public static void Convert<TS, ES, TD, ED>(ArrayView<TS> source, ArrayView<TD> result, int count)
        where TS : unmanaged
        where ES : struct, IElement<TS>
        where TD : unmanaged
        where ED : struct, IElement<TD>
    {
        for (int i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX)
        {
            result[i] = default(ED).Store(default(ES).Load(source[i]));
        }
    }
}
