using System.Runtime.CompilerServices;
using Dsoup.Kernels.Nn;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace Dsoup.Kernels.Gpu.TensorCores;

/// <summary>
/// Staging of one head's rows of a [batch, tokens, channels] tensor into shared tiles of packed 16-bit pairs,
/// by the whole group: row-major ([row][channel pair]) where the rows are an MMA's M or N, and transposed
/// ([channel][row pair]) where the rows are its K. Rows at or past <c>limit</c> and channels past the head are
/// zero, so ragged tiles and head widths that are not a multiple of 16 need no special case in the MMAs.
/// </summary>
internal static class AttentionTiles
{
    /// <summary>The tensor-core attention kernels' widest head.</summary>
    public const int MaxHeadDim = 160;

    /// <summary>Words per row of a row-major tile: the widest head's channel pairs, padded to 4 mod 8 (no bank conflicts).</summary>
    public const int RowStride = MaxHeadDim / 2 + 4;

    /// <summary>Words per channel of a transposed tile of 16 rows: 8 row pairs, padded.</summary>
    public const int ColumnStride = 12;

    /// <summary>Channel-pair words a head occupies, rounded up to a whole 16-channel MMA step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Words(int headDim) => (headDim + 15) / 16 * 8;

    /// <summary>8-channel output tiles a head occupies.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int OutputTiles(int headDim) => (headDim + 7) / 8;

    /// <summary>
    /// A work item of a grid-stride attention kernel, for blocks of <paramref name="rows"/> rows: the block's first
    /// row, its head and sample, and the (sample, head) index the per-row statistics are kept under.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (int First, int Head, int Batch, long HeadIndex) Item(long item, int blocks, int rows, int heads)
    {
        long headIndex = item / blocks;
        return ((int)(item % blocks) * rows, (int)(headIndex % heads), (int)(headIndex / heads), headIndex);
    }

    /// <summary>Rows [first, first + count) as [row][channel pair], <paramref name="stride"/> words per row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Rows(ArrayView<ushort> source, ArrayView<uint> tile, int stride, AttentionShape s, int batch, int head, int tokens,
        int first, int count, int limit)
    {
        int words = Words(s.HeadDim);
        for (int w = Group.IdxX; w < count * words; w += Group.DimX)
        {
            int row = first + w / words, c = 2 * (w % words);
            long at = row < limit ? s.HeadRow(batch, tokens, row, head) + c : -1;
            tile[w / words * stride + w % words] =
                FragmentLoads.Pair(source, at >= 0 && c < s.HeadDim ? at : -1, at >= 0 && c + 1 < s.HeadDim ? at + 1 : -1);
        }
    }

    /// <summary>Rows [first, first + count) as [channel][row pair], <paramref name="stride"/> words per channel; neighbouring threads read neighbouring channels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Columns(ArrayView<ushort> source, ArrayView<uint> tile, int stride, AttentionShape s, int batch, int head, int tokens,
        int first, int count, int limit)
    {
        int channels = OutputTiles(s.HeadDim) * 8;
        for (int w = Group.IdxX; w < channels * (count / 2); w += Group.DimX)
        {
            int c = w % channels, row = first + 2 * (w / channels);
            long at = c < s.HeadDim && row < limit ? s.HeadRow(batch, tokens, row, head) + c : -1;
            tile[c * stride + w / channels] = FragmentLoads.Pair(source, at, at >= 0 && row + 1 < limit ? at + s.Channels : -1);
        }
    }

    /// <summary>Two f32 values rounded to the dtype and packed low-first: an accumulator pair fed back as an A operand.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Pack<T, E>(float low, float high)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T>
    {
        var e = default(E);
        return e.ToBits(low) | ((uint)e.ToBits(high) << 16);
    }

    /// <summary>The A fragment of 16 rows by 16 k formed from the accumulators of two neighbouring 8-column tiles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static MmaA Operand<T, E>(MmaC low, MmaC high)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T> => new()
    {
        R0 = Pack<T, E>(low.C0, low.C1),
        R1 = Pack<T, E>(low.C2, low.C3),
        R2 = Pack<T, E>(high.C0, high.C1),
        R3 = Pack<T, E>(high.C2, high.C3),
    };

    /// <summary>acc[8c..8c+7 columns] += a · B for each output tile c (one emulation batch), the accumulators in local memory (4 floats per tile).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate<T, E>(ArrayView<float> acc, MmaA a, ArrayView<uint> tile, int stride, int word, int tiles, int g, int t, ArrayView<uint> scratch)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T>
    {
        var e = default(E);
        if (!CudaAsm.IsSupported)
        {
            MmaEmulation.Publish(scratch, a, 0);
            for (int c = 0; c < tiles; c++)
            {
                MmaEmulation.Publish(scratch, FragmentLoads.B(tile, stride, 8 * c, word, g, t), 4 + 2 * c);
            }
        }
        MmaEmulation.Exchange();
        for (int c = 0; c < tiles; c++)
        {
            var o = new MmaC { C0 = acc[4 * c], C1 = acc[4 * c + 1], C2 = acc[4 * c + 2], C3 = acc[4 * c + 3] };
            o = e.Mma(a, 0, FragmentLoads.B(tile, stride, 8 * c, word, g, t), 4 + 2 * c, o, scratch);
            acc[4 * c] = o.C0;
            acc[4 * c + 1] = o.C1;
            acc[4 * c + 2] = o.C2;
            acc[4 * c + 3] = o.C3;
        }
        MmaEmulation.Exchange();
    }

    /// <summary>Writes one row's channels this lane holds (2 per 8-channel tile, accumulator half 0 or 2), times <paramref name="scale"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreRow<T, E>(ArrayView<T> destination, ArrayView<float> acc, AttentionShape s, long at, int half, float scale, int t)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T>
    {
        var e = default(E);
        for (int c = 0; c < OutputTiles(s.HeadDim); c++)
        {
            int channel = 8 * c + 2 * t;
            if (channel < s.HeadDim)
            {
                destination[at + channel] = e.Store(acc[4 * c + half] * scale);
            }
            if (channel + 1 < s.HeadDim)
            {
                destination[at + channel + 1] = e.Store(acc[4 * c + half + 1] * scale);
            }
        }
    }

    /// <summary>Sets the first 4·tiles floats of a local accumulator to zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Clear(ArrayView<float> acc, int tiles)
    {
        for (int x = 0; x < 4 * tiles; x++)
        {
            acc[x] = 0f;
        }
    }
}
