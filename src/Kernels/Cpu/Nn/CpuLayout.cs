using System.Numerics.Tensors;
using Dsoup.Kernels.Nn;

namespace Dsoup.Kernels.Cpu.Nn;

/// <summary>Data movement on the CPU: axis copies and swaps move raw elements, so they are exact in every dtype.</summary>
internal static unsafe class CpuLayout
{
    public static void CopyAxis(int elementSize, nint source, nint destination, AxisCopy copy)
    {
        long run = copy.Length * copy.Inner * elementSize;
        CpuParallel.For(copy.Outer, Math.Max(1, CpuParallel.StreamingGrain / Math.Max(1, run)), (o0, o1) =>
        {
            for (long o = o0; o < o1; o++)
            {
                byte* from = (byte*)source + (o * copy.SourceExtent + copy.SourceStart) * copy.Inner * elementSize;
                byte* to = (byte*)destination + (o * copy.DestinationExtent + copy.DestinationStart) * copy.Inner * elementSize;
                Buffer.MemoryCopy(from, to, run, run);
            }
        });
    }

    public static void SwapAxes(int elementSize, nint source, nint destination, AxisSwap swap)
    {
        long run = swap.Inner * elementSize;
        long rows = swap.Outer * swap.A;
        CpuParallel.For(rows, Math.Max(1, CpuParallel.StreamingGrain / Math.Max(1, swap.B * swap.Inner)), (r0, r1) =>
        {
            for (long r = r0; r < r1; r++)
            {
                long o = r / swap.A, a = r % swap.A;
                for (long b = 0; b < swap.B; b++)
                {
                    byte* from = (byte*)source + ((o * swap.A + a) * swap.B + b) * run;
                    byte* to = (byte*)destination + ((o * swap.B + b) * swap.A + a) * run;
                    if (elementSize == 4 && swap.Inner == 1)
                    {
                        *(uint*)to = *(uint*)from;
                    }
                    else if (elementSize == 2 && swap.Inner == 1)
                    {
                        *(ushort*)to = *(ushort*)from;
                    }
                    else
                    {
                        Buffer.MemoryCopy(from, to, run, run);
                    }
                }
            }
        });
    }

    public static void Upsample(int elementSize, nint source, nint result, long planes, int height, int width, int factor)
    {
        int outWidth = width * factor;
        long outRowBytes = (long)outWidth * elementSize;
        CpuParallel.For(planes * height, Math.Max(1, CpuParallel.StreamingGrain / Math.Max(1, outWidth * factor)), (r0, r1) =>
        {
            for (long r = r0; r < r1; r++)
            {
                byte* from = (byte*)source + r * width * elementSize;
                byte* first = (byte*)result + r * factor * outRowBytes;
                for (int x = 0; x < outWidth; x++)
                {
                    Buffer.MemoryCopy(from + x / factor * elementSize, first + x * elementSize, elementSize, elementSize);
                }
                for (int copy = 1; copy < factor; copy++)
                {
                    Buffer.MemoryCopy(first, first + copy * outRowBytes, outRowBytes, outRowBytes);
                }
            }
        });
    }

    public static void UpsampleBackward(DType dtype, nint gradOutput, nint gradInput, long planes, int height, int width, int factor)
    {
        int outWidth = width * factor;
        CpuParallel.For(planes * height, Math.Max(1, CpuParallel.StreamingGrain / Math.Max(1, outWidth * factor)), (r0, r1) =>
        {
            Span<float> sums = new float[width];
            Span<float> row = new float[outWidth];
            for (long r = r0; r < r1; r++)
            {
                sums.Clear();
                for (int copy = 0; copy < factor; copy++)
                {
                    ElementBlocks.Load(dtype, gradOutput, (r * factor + copy) * outWidth, row);
                    for (int x = 0; x < outWidth; x++)
                    {
                        sums[x / factor] += row[x];
                    }
                }
                ElementBlocks.Store(dtype, sums, gradInput, r * width);
            }
        });
    }
}
