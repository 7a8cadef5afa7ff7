using ILGPU;
using ILGPU.Runtime;

namespace Dsoup.Kernels.Gpu;

/// <summary>
/// Caches freed device allocations by size class, so that a training or sampling step reuses memory
/// instead of calling the driver's allocator (cuMemAlloc synchronises and is slow). Classes are powers
/// of two up to 64 MiB and multiples of 8 MiB above. When the device runs out of memory the cache is
/// released and the allocation retried once.
/// </summary>
internal sealed class IlgpuBufferPool : IDisposable
{
    private const long SmallestClass = 256;
    private const long LargeThreshold = 64L << 20;
    private const long LargeGranule = 8L << 20;

    private readonly Accelerator accelerator;
    private readonly Dictionary<long, Stack<MemoryBuffer1D<byte, Stride1D.Dense>>> free = [];
    private readonly Lock gate = new();

    public IlgpuBufferPool(Accelerator accelerator) => this.accelerator = accelerator;

    /// <summary>Bytes held in the cache, ready for reuse.</summary>
    public long CachedBytes { get; private set; }

    /// <summary>Bytes allocated from the driver and not yet given back: in use plus cached.</summary>
    public long HeldBytes { get; private set; }

    /// <summary>The most <see cref="HeldBytes"/> has been: the device memory dsoup needed at its peak.</summary>
    public long PeakHeldBytes { get; private set; }

    public static long SizeClass(long bytes)
    {
        if (bytes <= SmallestClass)
        {
            return SmallestClass;
        }
        if (bytes <= LargeThreshold)
        {
            return (long)System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)bytes);
        }
        return (bytes + LargeGranule - 1) / LargeGranule * LargeGranule;
    }

    public MemoryBuffer1D<byte, Stride1D.Dense> Rent(long bytes)
    {
        long size = SizeClass(bytes);
        lock (gate)
        {
            if (free.TryGetValue(size, out var stack) && stack.Count > 0)
            {
                CachedBytes -= size;
                return stack.Pop();
            }
        }
        MemoryBuffer1D<byte, Stride1D.Dense> memory;
        try
        {
            memory = accelerator.Allocate1D<byte>(size);
        }
        catch (Exception ex) when (ex is OutOfMemoryException or AcceleratorException)
        {
            Trim();
            memory = accelerator.Allocate1D<byte>(size);
        }
        lock (gate)
        {
            HeldBytes += size;
            PeakHeldBytes = Math.Max(PeakHeldBytes, HeldBytes);
        }
        return memory;
    }

    public void Return(MemoryBuffer1D<byte, Stride1D.Dense> memory)
    {
        lock (gate)
        {
            if (!free.TryGetValue(memory.Length, out var stack))
            {
                free[memory.Length] = stack = new Stack<MemoryBuffer1D<byte, Stride1D.Dense>>();
            }
            stack.Push(memory);
            CachedBytes += memory.Length;
        }
    }

    /// <summary>Gives every cached allocation back to the driver.</summary>
    public void Trim()
    {
        lock (gate)
        {
            foreach (var stack in free.Values)
            {
                while (stack.Count > 0)
                {
                    var memory = stack.Pop();
                    HeldBytes -= memory.Length;
                    memory.Dispose();
                }
            }
            CachedBytes = 0;
        }
    }

    public void Dispose() => Trim();
}
