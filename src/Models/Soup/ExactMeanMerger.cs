using System.Runtime.InteropServices;
using Dsoup.Engine.Checkpoints;

namespace Dsoup.Models.Soup;

/// <summary>
/// Uniform and whole-number-weighted soups: Σ wᵢ·θᵢ summed exactly per block (<see cref="BlockAccumulator"/>),
/// divided by Σ wᵢ and correctly rounded once. The result does not depend on input order, and the
/// canonical sums can be kept as a soup state from which ingredients are later added or removed exactly.
/// </summary>
internal sealed class ExactMeanMerger(IReadOnlyList<long> weights, IReadOnlyList<SoupIngredient> inputs) : ITensorMerger
{
    private readonly long total = weights.Sum();

    /// <summary>When set, receives every block's canonical sums and exponent (for a soup state); set per chunk.</summary>
    public StateBuffers? State { get; set; }

    public void Begin(MergedTensor tensor)
    {
    }

    public void Merge(ChunkData chunk, byte[] output)
    {
        ChunkBlocks.ForEach(ChunkBlocks.Count(chunk), block =>
        {
            BlockScratch scratch = ChunkBlocks.Scratch;
            (int start, int length) = ChunkBlocks.Range(chunk, block);
            BlockAccumulator sum = scratch.Accumulator;
            sum.Reset(length);
            if (AllF16(chunk) && AddF16Sources(chunk, start, length, sum))
            {
                Finish(chunk, block, start, sum, scratch, output);
                return;
            }
            for (int s = 0; s < weights.Count; s++)
            {
                if (chunk.Job.Sources[s].Type == StorageType.F16)
                {
                    var bits = MemoryMarshal.Cast<byte, ushort>(chunk.Bytes(s)).Slice(start, length);
                    sum.AddF16(bits, weights[s], scratch.Values, scratch.Floats, ChunkBlocks.Describe(chunk, s, inputs, null));
                    continue;
                }
                Span<double> values = scratch.Values.AsSpan(0, length);
                ChunkBlocks.Decode(chunk, s, start, values, scratch.Floats);
                sum.Add(values, weights[s], ChunkBlocks.Describe(chunk, s, inputs, null));
            }
            Finish(chunk, block, start, sum, scratch, output);
        });
    }

    /// <summary>Sub-block after sub-block, every source adds in: the sums stay in L1 while all inputs pass.</summary>
    private bool AddF16Sources(ChunkData chunk, int start, int length, BlockAccumulator sum)
    {
        const int SubBlock = 4096;
        Span<long> sums = sum.BeginF16(total);
        if (sums.IsEmpty)
        {
            return false;
        }
        for (int from = 0; from < length; from += SubBlock)
        {
            int n = Math.Min(SubBlock, length - from);
            for (int s = 0; s < weights.Count; s++)
            {
                var bits = MemoryMarshal.Cast<byte, ushort>(chunk.Bytes(s)).Slice(start + from, n);
                if (!Kernels.Cpu.Merge.FixedPointKernels.AccumulateF16(bits, sums.Slice(from, n), weights[s]))
                {
                    throw new InvalidDataException($"{ChunkBlocks.Describe(chunk, s, inputs, null)} holds NaN or infinite values; a soup of them is undefined (dsoup inspect --scan finds them)");
                }
            }
        }
        return true;
    }

    private void Finish(ChunkData chunk, int block, int start, BlockAccumulator sum, BlockScratch scratch, byte[] output)
    {
        if (State is not null)
        {
            // Only a state needs the canonical form; the mean is the same either way.
            sum.Canonicalize();
            State.Capture(block, start, sum);
        }
        ChunkBlocks.StoreMean(chunk, start, sum, total, scratch, output);
    }

    private static bool AllF16(ChunkData chunk) => chunk.Job.Sources.All(s => s.Type == StorageType.F16);
}

/// <summary>One chunk's canonical sums and block exponents, captured for a soup state.</summary>
internal sealed class StateBuffers(long chunkElements)
{
    public Int128[] Sums { get; } = new Int128[chunkElements];

    public int[] Exponents { get; } = new int[(chunkElements + SoupMemory.BlockElements - 1) / SoupMemory.BlockElements];

    public void Capture(int block, int start, BlockAccumulator sum)
    {
        sum.Store(Sums.AsSpan(start, sum.Count));
        Exponents[block] = sum.Exponent;
    }
}
