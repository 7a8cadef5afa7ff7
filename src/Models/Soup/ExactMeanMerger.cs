using System.Runtime.InteropServices;
using Dsoup.Engine.Checkpoints;
using Dsoup.Kernels.Cpu.Merge;

namespace Dsoup.Models.Soup;

/// <summary>
/// Uniform and whole-number-weighted soups: Σ wᵢ·θᵢ summed exactly per block (<see cref="BlockAccumulator"/>),
/// divided by Σ wᵢ and correctly rounded once. The result does not depend on input order, and the
/// canonical sums can be kept as a soup state from which ingredients are later added or removed exactly.
/// Every worker reads, hashes and adds its own blocks of every input, so reading, hashing and summing run
/// on all cores and each block's bytes are used while still in cache.
/// </summary>
internal sealed class ExactMeanMerger(IReadOnlyList<long> weights, IReadOnlyList<SoupIngredient> inputs, ContentHashes hashes, IProgress<long>? progress)
    : ITensorMerger
{
    private readonly long total = weights.Sum();

    /// <summary>When set, receives every block's canonical sums and exponent (for a soup state); set per chunk.</summary>
    public StateBuffers? State { get; set; }

    public void Begin(MergedTensor tensor)
    {
    }

    public bool ReadsItself(MergedTensor tensor) => true;

    public void Merge(ChunkData chunk, byte[] output)
    {
        AllCores.For(ChunkBlocks.Count(chunk), block =>
        {
            BlockScratch scratch = ChunkBlocks.Scratch;
            (int start, int length) = ChunkBlocks.Range(chunk, block);
            BlockAccumulator sum = scratch.Accumulator;
            sum.Reset(length);
            if (!AllF16(chunk) || !AddF16Sources(chunk, start, length, sum, scratch))
            {
                for (int s = 0; s < weights.Count; s++)
                {
                    ReadOnlySpan<byte> raw = Read(chunk, s, start, length, scratch);
                    Span<double> values = scratch.Values.AsSpan(0, length);
                    ValueDecoder.Decode(chunk.Job.Sources[s].Type, raw, values, scratch.Floats);
                    sum.Add(values, weights[s], ChunkBlocks.Describe(chunk, s, inputs, null));
                }
            }
            if (State is not null)
            {
                // Only a state needs the canonical form; the mean is the same either way.
                sum.Canonicalize();
                State.Capture(block, sum);
            }
            ChunkBlocks.StoreMean(chunk, start, sum, total, scratch, output);
        });
    }

    /// <summary>Reads one block of one source into the worker's buffer, hashing it on the way.</summary>
    private ReadOnlySpan<byte> Read(ChunkData chunk, int source, int start, int length, BlockScratch scratch)
    {
        var tensor = chunk.Job.Sources[source];
        int size = tensor.Type.Bits() / 8;
        long element = chunk.Job.Start + start;
        Span<byte> raw = scratch.Raw.AsSpan(0, length * size);
        hashes.ReadBlock(chunk.Job.SourceIds[source], tensor, chunk.Job.Tensor.Name, element, raw, progress);
        return raw;
    }

    /// <summary>
    /// f16 sources straight from their bits: in 32-bit lanes while every value seen so far (bounded by its
    /// block's largest exponent) keeps the sums under 2^31, in 64-bit lanes after that.
    /// </summary>
    private bool AddF16Sources(ChunkData chunk, int start, int length, BlockAccumulator sum, BlockScratch scratch)
    {
        Span<long> sums = sum.BeginF16(total);
        if (sums.IsEmpty)
        {
            return false;
        }
        Span<int> small = scratch.SmallSums.AsSpan(0, length);
        small.Clear();
        bool narrow = true;
        double bound = 0;
        for (int s = 0; s < weights.Count; s++)
        {
            var bits = MemoryMarshal.Cast<byte, ushort>(Read(chunk, s, start, length, scratch));
            int field = FixedPointKernels.MaxF16ExponentField(bits);
            if (field == 31)
            {
                throw new InvalidDataException($"{ChunkBlocks.Describe(chunk, s, inputs, null)} holds NaN or infinite values; a soup of them is undefined (dsoup inspect --scan finds them)");
            }
            bound += weights[s] * Math.ScaleB(1.0, field + 10); // |value · 2^24| < 2^(field + 10)
            if (narrow && bound >= int.MaxValue)
            {
                FixedPointKernels.Widen(small, sums);
                narrow = false;
            }
            if (narrow)
            {
                FixedPointKernels.AccumulateF16Small(bits, small, (int)weights[s]);
            }
            else
            {
                FixedPointKernels.AccumulateF16(bits, sums, weights[s]);
            }
        }
        if (narrow)
        {
            FixedPointKernels.Widen(small, sums);
        }
        return true;
    }

    private static bool AllF16(ChunkData chunk) => chunk.Job.Sources.All(s => s.Type == StorageType.F16);
}
