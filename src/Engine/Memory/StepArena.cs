using Dsoup.Kernels;

namespace Dsoup.Engine.Memory;

/// <summary>
/// A bump allocator over large device blocks. Allocation is an addition; releasing everything is a
/// counter reset. Blocks are kept across steps, so a steady training or sampling loop stops
/// allocating after its first step. <see cref="Mark"/>/<see cref="ReleaseTo"/> free a suffix
/// (gradient checkpointing drops a segment's activations that way).
/// </summary>
internal sealed class StepArena : IDisposable
{
    /// <summary>Every allocation starts on this boundary (GPU coalescing, AVX-512 loads).</summary>
    public const long Alignment = 256;

    public const long BlockBytes = 64L << 20;

    private readonly IBackend backend;
    private readonly List<DeviceBuffer> blocks = [];
    private readonly List<(long From, long To)> releasedSequences = [];
    private int block;
    private long offset;
    private long sequence;

    public StepArena(IBackend backend) => this.backend = backend;

    /// <summary>Incremented by every full reset; allocations of older generations are dead.</summary>
    public int Generation { get; private set; }

    public long BytesInUse { get; private set; }

    /// <summary>The most bytes in use at once since the last <see cref="Reset"/> (the arena is reused by later steps).</summary>
    public long PeakBytes { get; private set; }

    public long ReservedBytes => blocks.Sum(b => b.ByteLength);

    public ArenaAllocation Allocate(long bytes)
    {
        long size = Math.Max(Alignment, (bytes + Alignment - 1) / Alignment * Alignment);
        while (block < blocks.Count && offset + size > blocks[block].ByteLength)
        {
            block++;
            offset = 0;
        }
        if (block == blocks.Count)
        {
            blocks.Add(backend.Allocate(Math.Max(BlockBytes, size)));
            offset = 0;
        }
        var allocation = new ArenaAllocation(blocks[block], offset, Generation, sequence++);
        offset += size;
        BytesInUse += size;
        PeakBytes = Math.Max(PeakBytes, BytesInUse);
        return allocation;
    }

    public ArenaMark Mark() => new(block, offset, sequence, BytesInUse);

    /// <summary>Frees everything allocated after <paramref name="mark"/>; those tensors become unusable.</summary>
    public void ReleaseTo(ArenaMark mark)
    {
        releasedSequences.Add((mark.Sequence, sequence));
        block = mark.Block;
        offset = mark.Offset;
        BytesInUse = mark.BytesInUse;
    }

    public bool IsAlive(in ArenaAllocation allocation)
    {
        if (allocation.Generation != Generation)
        {
            return false;
        }
        foreach ((long from, long to) in releasedSequences)
        {
            if (allocation.Sequence >= from && allocation.Sequence < to)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Frees every allocation at once.</summary>
    public void Reset()
    {
        Generation++;
        releasedSequences.Clear();
        block = 0;
        offset = 0;
        BytesInUse = 0;
        PeakBytes = 0;
    }

    public void Dispose()
    {
        foreach (DeviceBuffer b in blocks)
        {
            b.Dispose();
        }
        blocks.Clear();
    }
}

internal readonly record struct ArenaAllocation(DeviceBuffer Buffer, long Offset, int Generation, long Sequence);

internal readonly record struct ArenaMark(int Block, long Offset, long Sequence, long BytesInUse);
