using System.Runtime.InteropServices;
using Dsoup.Engine.Checkpoints;
using Dsoup.Kernels.Cpu.Merge;

namespace Dsoup.Models.Soup;

/// <summary>
/// A summed tensor's block table from a soup state: each block's exponent and packed width, and where
/// its sums start in the packed "sum/" tensor. Checked against the tensor's size on reading, so a damaged
/// or hand-edited state is refused by name instead of being read out of bounds.
/// </summary>
internal sealed class BlockTable
{
    private readonly int[] pairs;
    private readonly long[] offsets;

    private BlockTable(int[] pairs, long[] offsets)
    {
        this.pairs = pairs;
        this.offsets = offsets;
    }

    public int Count => offsets.Length - 1;

    public int Exponent(int block) => pairs[2 * block];

    public int Width(int block) => pairs[2 * block + 1];

    /// <summary>Byte offset of block <paramref name="block"/>'s sums in the packed tensor (Count gives its end).</summary>
    public long Offset(int block) => offsets[block];

    public static BlockTable Read(TensorEntry table, TensorEntry sums, long elements, string statePath, string tensor)
    {
        int blocks = ContentHashes.BlockCount(elements);
        if (table.Type != StorageType.I32 || table.ElementCount != 2L * blocks || sums.Type != StorageType.U8)
        {
            throw Damaged(statePath, tensor, $"its block table is {table.Type.Name()} {table.ShapeText}, not I32 [{blocks}, 2] beside U8 sums");
        }
        var pairs = new int[2 * blocks];
        table.Read(0, MemoryMarshal.AsBytes(pairs.AsSpan()));
        var offsets = new long[blocks + 1];
        for (int b = 0; b < blocks; b++)
        {
            int width = pairs[2 * b + 1];
            if (!PackedSums.Widths.Contains(width))
            {
                throw Damaged(statePath, tensor, $"block {b} claims {width} bytes per sum");
            }
            long count = Math.Min(SoupMemory.BlockElements, elements - (long)b * SoupMemory.BlockElements);
            offsets[b + 1] = offsets[b] + count * width;
        }
        if (offsets[blocks] != sums.ByteLength)
        {
            throw Damaged(statePath, tensor, $"its blocks add up to {offsets[blocks]} bytes of sums, but it holds {sums.ByteLength}");
        }
        return new BlockTable(pairs, offsets);
    }

    private static InvalidDataException Damaged(string statePath, string tensor, string problem) =>
        new($"{statePath}: the soup state is damaged: '{tensor}': {problem}");
}
