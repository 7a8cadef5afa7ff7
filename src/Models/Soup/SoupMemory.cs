using Dsoup.Engine.Checkpoints;

namespace Dsoup.Models.Soup;

/// <summary>
/// Sizes the merge's chunks from the memory budget. Per element of a chunk the merge holds: the raw
/// bytes of every source, twice (one chunk being read while the previous is merged), the accumulator
/// (8 bytes, plus 16 for a 128-bit block), three output buffers (one merged into, two being written)
/// and, with a state, three buffers of packed sums (up to 16 bytes per element); TIES also holds every source decoded to f64.
/// Chunks are whole numbers of <see cref="BlockElements"/> blocks, at most <see cref="MaxChunkElements"/>.
/// </summary>
public static class SoupMemory
{
    /// <summary>Elements sharing one fixed-point exponent; also the state file's block.</summary>
    public const int BlockElements = 1 << 16;

    public const long MaxChunkElements = 1L << 22;

    /// <summary>Runtime, thread scratch and file buffers that do not grow with the chunk.</summary>
    public const long FixedOverhead = 24L << 20;

    public static (long ChunkElements, long PeakBytes) Budget(SoupPlan plan)
    {
        long perElement = BytesPerElement(plan);
        // Exact soups read block by block in each worker: their inputs take no chunk buffers.
        long fixedBytes = FixedOverhead + (plan.Loras?.PeakFactorBytes() ?? 0);
        long chunk = (plan.Options.MaxMemory - fixedBytes) / Math.Max(1, perElement);
        // No chunk needs to be larger than the largest tensor (rounded up to whole blocks).
        long largest = plan.Tensors.Count == 0 ? BlockElements : plan.Tensors.Max(t => t.ElementCount);
        long needed = (largest + BlockElements - 1) / BlockElements * BlockElements;
        chunk = Math.Min(Math.Min(MaxChunkElements, needed), chunk / BlockElements * BlockElements);
        if (chunk < BlockElements)
        {
            throw new ArgumentException(
                $"--max-memory {plan.Options.MaxMemory >> 20} MiB cannot hold one {BlockElements}-element block of {plan.Inputs.Count} inputs " +
                $"({perElement} bytes per element); allow at least {(fixedBytes + perElement * BlockElements) >> 20} MiB");
        }
        return (chunk, fixedBytes + chunk * perElement);
    }

    private static long BytesPerElement(SoupPlan plan)
    {
        long raw = plan.Tensors.Count == 0
            ? 0
            : plan.Tensors.Max(t => t.Inputs.Sum(i => i is null ? 0 : i.Type.Bits() / 8) + (t.Base is null ? 0 : t.Base.Type.Bits() / 8));
        long output = plan.Tensors.Count == 0 ? 4 : plan.Tensors.Max(t => t.OutputType.Bits() / 8);
        long sources = plan.Inputs.Count + (plan.Base is null ? 0 : 1);
        if (plan.UsesExactSums)
        {
            raw = 0;
        }
        long working = plan.Options.Method switch
        {
            SoupMethod.Ties => sources * 8 + 8,
            _ when plan.UsesExactSums => 8 + 16 + 3 * 16, // int64 sums, a 128-bit block, the state's buffers
            _ => 8,
        };
        return 2 * raw + working + 3 * output; // three output buffers: one merged into, two queued for writing
    }
}
