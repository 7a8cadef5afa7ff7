using System.Buffers;

namespace Dsoup.Kernels.Cpu.Nn;

/// <summary>Runs a body over rows in parallel, each worker with f32 scratch rows of its own.</summary>
internal static class CpuRows
{
    public delegate void RowBody(long row, Span<float> a, Span<float> b);

    public static void For(long rows, long rowLength, RowBody body)
    {
        int length = checked((int)rowLength);
        long grain = Math.Max(1, CpuParallel.StreamingGrain / Math.Max(1, rowLength));
        CpuParallel.For(rows, grain, (r0, r1) =>
        {
            float[] scratch = ArrayPool<float>.Shared.Rent(2 * length);
            try
            {
                for (long r = r0; r < r1; r++)
                {
                    body(r, scratch.AsSpan(0, length), scratch.AsSpan(length, length));
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(scratch);
            }
        });
    }
}
