using Dsoup.Kernels.Nn;
using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>Data movement as grid-stride loops over the destination: axis copies, axis swaps, nearest upsampling.</summary>
public static class LayoutKernels
{
    [GpuKernel]
    public static void CopyAxis<T, E>(ArrayView<T> source, ArrayView<T> destination, AxisCopy copy)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        long run = copy.Length * copy.Inner;
        for (long i = Grid.GlobalIndex.X; i < copy.CopiedCount; i += (long)Grid.DimX * Group.DimX)
        {
            long o = i / run, within = i % run;
            destination[(o * copy.DestinationExtent + copy.DestinationStart) * copy.Inner + within] =
                source[(o * copy.SourceExtent + copy.SourceStart) * copy.Inner + within];
        }
    }

    [GpuKernel]
    public static void SwapAxes<T, E>(ArrayView<T> source, ArrayView<T> destination, AxisSwap swap)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        for (long i = Grid.GlobalIndex.X; i < swap.Count; i += (long)Grid.DimX * Group.DimX)
        {
            long inner = i % swap.Inner, rest = i / swap.Inner;
            long a = rest % swap.A;
            rest /= swap.A;
            long b = rest % swap.B, o = rest / swap.B;
            destination[i] = source[((o * swap.A + a) * swap.B + b) * swap.Inner + inner];
        }
    }

    [GpuKernel]
    public static void Upsample<T, E>(ArrayView<T> source, ArrayView<T> result, long planes, int height, int width, int factor)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        long outWidth = (long)width * factor, outPlane = outWidth * height * factor;
        long count = planes * outPlane;
        for (long i = Grid.GlobalIndex.X; i < count; i += (long)Grid.DimX * Group.DimX)
        {
            long plane = i / outPlane, within = i % outPlane;
            long y = within / outWidth / factor, x = within % outWidth / factor;
            result[i] = source[(plane * height + y) * width + x];
        }
    }

    [GpuKernel]
    public static void UpsampleBackward<T, E>(ArrayView<T> gradOutput, ArrayView<T> gradInput, long planes, int height, int width, int factor)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        long outWidth = (long)width * factor;
        long count = planes * height * width;
        for (long i = Grid.GlobalIndex.X; i < count; i += (long)Grid.DimX * Group.DimX)
        {
            long row = i / width, x = i % width;
            float sum = 0f;
            for (int dy = 0; dy < factor; dy++)
            {
                long first = (row * factor + dy) * outWidth + x * factor;
                for (int dx = 0; dx < factor; dx++)
                {
                    sum += e.Load(gradOutput[first + dx]);
                }
            }
            gradInput[i] = e.Store(sum);
        }
    }
}
