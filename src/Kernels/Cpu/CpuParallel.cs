namespace Dsoup.Kernels.Cpu;

/// <summary>Splits a range into chunks run on the thread pool, or inline when too small to pay.</summary>
internal static class CpuParallel
{
    /// <summary>Elements per chunk for streaming ops: large enough that scheduling is noise.</summary>
    public const long StreamingGrain = 1 << 16;

    public static void For(long count, long grain, Action<long, long> body)
    {
        if (count <= 0)
        {
            return;
        }
        long chunks = (count + grain - 1) / grain;
        if (chunks <= 1 || Environment.ProcessorCount == 1)
        {
            body(0, count);
            return;
        }
        Parallel.For(0L, chunks, chunk =>
        {
            long start = chunk * grain;
            body(start, Math.Min(count, start + grain));
        });
    }
}
