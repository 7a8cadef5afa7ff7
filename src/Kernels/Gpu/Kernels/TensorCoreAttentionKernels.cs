using System.Runtime.CompilerServices;
using Dsoup.Kernels.Gpu.TensorCores;
using Dsoup.Kernels.Nn;
using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>
/// Fused attention forward on tensor cores (the FlashAttention-2 scheme): a group of 4 warps takes 64 query
/// rows of one head, each warp 16 of them, and walks the keys in tiles of 32. Per tile a warp computes its
/// 16×32 scores with MMAs against the key tile, masks and scales them in f32, updates the running row maxima
/// and sums (online softmax), rounds the probabilities to the dtype and feeds them straight back as the A
/// operand of P·V, whose accumulator layout matches the A fragment's. Queries, keys and values are staged in
/// shared memory as k-pairs (values transposed, channel-major); the output rows stay in f32 in local memory
/// (up to 160 channels: ILGPU does not unroll loops, so an indexed register array is not available).
/// Writes the log-sum-exp per row for the backward pass, as <see cref="AttentionKernels.Forward"/> does.
/// </summary>
public static class TensorCoreAttentionKernels
{
    public const int Threads = 128;

    /// <summary>The widest head this kernel takes; SD's heads are 40, 64, 80 and 160 channels.</summary>
    public const int MaxHeadDim = 160;

    private const int QueryRows = 64;
    private const int KeyRows = 32;
    private const int RowStride = MaxHeadDim / 2 + 4;
    private const int KeyStride = KeyRows / 2 + 4;
    private const int OutputTiles = MaxHeadDim / 8;

    /// <summary>Groups of <see cref="Threads"/> for one launch: one per 64 queries of one head, capped.</summary>
    public static int Items(AttentionShape s) => s.Batch * s.Heads * ((s.Queries + QueryRows - 1) / QueryRows);

    [GpuKernel]
    public static void Forward<T, E>(ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v, ArrayView<T> result,
        ArrayView<float> logSumExp, AttentionShape s)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T>
    {
        var e = default(E);
        var queryTile = SharedMemory.Allocate<uint>(QueryRows * RowStride);   // [query][channel pair]
        var keyTile = SharedMemory.Allocate<uint>(KeyRows * RowStride);       // [key][channel pair]
        var valueTile = SharedMemory.Allocate<uint>(MaxHeadDim * KeyStride);  // [channel][key pair]
        var output = LocalMemory.Allocate<float>(OutputTiles * 4);
        int tid = Group.IdxX, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
        int d = s.HeadDim, words = (d + 15) / 16 * 8, tiles = (d + 7) / 8;
        int blocks = (s.Queries + QueryRows - 1) / QueryRows;
        for (long item = Grid.IdxX; item < (long)s.Batch * s.Heads * blocks; item += Grid.DimX)
        {
            int block = (int)(item % blocks);
            long headIndex = item / blocks;
            int head = (int)(headIndex % s.Heads), batch = (int)(headIndex / s.Heads);
            int first = block * QueryRows;
            Group.Barrier(); // the previous item's tiles are no longer read
            for (int w = tid; w < QueryRows * words; w += Threads)
            {
                int i = first + w / words, c = 2 * (w % words);
                long at = i < s.Queries ? s.HeadRow(batch, s.Queries, i, head) + c : -1;
                queryTile[w / words * RowStride + w % words] = FragmentLoads.Pair(q, at >= 0 && c < d ? at : -1, at >= 0 && c + 1 < d ? at + 1 : -1);
            }
            for (int x = 0; x < tiles * 4; x++)
            {
                output[x] = 0f;
            }
            int row0 = first + warp * 16 + g, row1 = row0 + 8;
            int visible0 = row0 < s.Queries ? s.Visible(row0) : 0, visible1 = row1 < s.Queries ? s.Visible(row1) : 0;
            float max0 = float.NegativeInfinity, max1 = float.NegativeInfinity, sum0 = 0f, sum1 = 0f;
            int keys = s.Visible(Math.Min(s.Queries, first + QueryRows) - 1);
            for (int j0 = 0; j0 < keys; j0 += KeyRows)
            {
                Group.Barrier(); // the previous key and value tiles are no longer read
                for (int w = tid; w < KeyRows * words; w += Threads)
                {
                    int j = j0 + w / words, c = 2 * (w % words);
                    long at = j < keys ? s.HeadRow(batch, s.Keys, j, head) + c : -1;
                    keyTile[w / words * RowStride + w % words] = FragmentLoads.Pair(k, at >= 0 && c < d ? at : -1, at >= 0 && c + 1 < d ? at + 1 : -1);
                }
                for (int w = tid; w < tiles * 8 * (KeyRows / 2); w += Threads)
                {
                    // Neighbouring threads take neighbouring channels of one key pair: reads along the row.
                    int c = w % (tiles * 8), j = j0 + 2 * (w / (tiles * 8));
                    long at = c < d && j < keys ? s.HeadRow(batch, s.Keys, j, head) + c : -1;
                    valueTile[c * KeyStride + w / (tiles * 8)] = FragmentLoads.Pair(v, at, at >= 0 && j + 1 < keys ? at + s.Channels : -1);
                }
                Group.Barrier();

                MmaC s0 = default, s1 = default, s2 = default, s3 = default;
                for (int kw = 0; kw < words; kw += 8)
                {
                    MmaA a = FragmentLoads.A(queryTile, RowStride, warp * 16, kw, g, t);
                    s0 = e.Mma(a, FragmentLoads.B(keyTile, RowStride, 0, kw, g, t), s0);
                    s1 = e.Mma(a, FragmentLoads.B(keyTile, RowStride, 8, kw, g, t), s1);
                    s2 = e.Mma(a, FragmentLoads.B(keyTile, RowStride, 16, kw, g, t), s2);
                    s3 = e.Mma(a, FragmentLoads.B(keyTile, RowStride, 24, kw, g, t), s3);
                }
                int key = j0 + 2 * t;
                s0 = Masked(s0, key, visible0, visible1, s.Scale);
                s1 = Masked(s1, key + 8, visible0, visible1, s.Scale);
                s2 = Masked(s2, key + 16, visible0, visible1, s.Scale);
                s3 = Masked(s3, key + 24, visible0, visible1, s.Scale);

                float next0 = MathF.Max(max0, QuadMax(MathF.Max(MathF.Max(MathF.Max(s0.C0, s0.C1), MathF.Max(s1.C0, s1.C1)), MathF.Max(MathF.Max(s2.C0, s2.C1), MathF.Max(s3.C0, s3.C1)))));
                float next1 = MathF.Max(max1, QuadMax(MathF.Max(MathF.Max(MathF.Max(s0.C2, s0.C3), MathF.Max(s1.C2, s1.C3)), MathF.Max(MathF.Max(s2.C2, s2.C3), MathF.Max(s3.C2, s3.C3)))));
                float correction0 = Rescale(max0, next0), correction1 = Rescale(max1, next1);
                max0 = next0;
                max1 = next1;
                s0 = Probabilities(s0, max0, max1);
                s1 = Probabilities(s1, max0, max1);
                s2 = Probabilities(s2, max0, max1);
                s3 = Probabilities(s3, max0, max1);
                sum0 = sum0 * correction0 + s0.C0 + s0.C1 + s1.C0 + s1.C1 + s2.C0 + s2.C1 + s3.C0 + s3.C1;
                sum1 = sum1 * correction1 + s0.C2 + s0.C3 + s1.C2 + s1.C3 + s2.C2 + s2.C3 + s3.C2 + s3.C3;

                // The score accumulators of two neighbouring 8-key tiles are, packed, the A fragment of 16 keys.
                var p0 = new MmaA { R0 = Pack<T, E>(s0.C0, s0.C1), R1 = Pack<T, E>(s0.C2, s0.C3), R2 = Pack<T, E>(s1.C0, s1.C1), R3 = Pack<T, E>(s1.C2, s1.C3) };
                var p1 = new MmaA { R0 = Pack<T, E>(s2.C0, s2.C1), R1 = Pack<T, E>(s2.C2, s2.C3), R2 = Pack<T, E>(s3.C0, s3.C1), R3 = Pack<T, E>(s3.C2, s3.C3) };
                for (int c = 0; c < tiles; c++)
                {
                    var o = new MmaC
                    {
                        C0 = output[4 * c] * correction0, C1 = output[4 * c + 1] * correction0,
                        C2 = output[4 * c + 2] * correction1, C3 = output[4 * c + 3] * correction1,
                    };
                    o = e.Mma(p0, FragmentLoads.B(valueTile, KeyStride, 8 * c, 0, g, t), o);
                    o = e.Mma(p1, FragmentLoads.B(valueTile, KeyStride, 8 * c, 8, g, t), o);
                    output[4 * c] = o.C0;
                    output[4 * c + 1] = o.C1;
                    output[4 * c + 2] = o.C2;
                    output[4 * c + 3] = o.C3;
                }
            }
            sum0 += Warp.ShuffleXor(sum0, 1);
            sum0 += Warp.ShuffleXor(sum0, 2);
            sum1 += Warp.ShuffleXor(sum1, 1);
            sum1 += Warp.ShuffleXor(sum1, 2);
            StoreRow<T, E>(result, logSumExp, output, s, batch, head, headIndex, row0, 0, max0, sum0, tiles, t);
            StoreRow<T, E>(result, logSumExp, output, s, batch, head, headIndex, row1, 2, max1, sum1, tiles, t);
        }
    }

    /// <summary>Scaled scores, −∞ where the key is not visible to the row (causal mask, or past the last key).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static MmaC Masked(MmaC tile, int key, int visible0, int visible1, float scale) => new()
    {
        C0 = key < visible0 ? tile.C0 * scale : float.NegativeInfinity,
        C1 = key + 1 < visible0 ? tile.C1 * scale : float.NegativeInfinity,
        C2 = key < visible1 ? tile.C2 * scale : float.NegativeInfinity,
        C3 = key + 1 < visible1 ? tile.C3 * scale : float.NegativeInfinity,
    };

    /// <summary>The maximum over the four lanes of a quad, which together hold one row's 32 scores.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float QuadMax(float value)
    {
        value = MathF.Max(value, Warp.ShuffleXor(value, 1));
        return MathF.Max(value, Warp.ShuffleXor(value, 2));
    }

    /// <summary>The factor that rescales sums taken against <paramref name="old"/> to <paramref name="next"/> (1 while the row has seen nothing).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Rescale(float old, float next) => next == float.NegativeInfinity ? 1f : MathF.Exp(old - next);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static MmaC Probabilities(MmaC scores, float max0, float max1) => new()
    {
        C0 = Probability(scores.C0, max0),
        C1 = Probability(scores.C1, max0),
        C2 = Probability(scores.C2, max1),
        C3 = Probability(scores.C3, max1),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Probability(float score, float max) => score == float.NegativeInfinity ? 0f : MathF.Exp(score - max);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Pack<T, E>(float low, float high)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T>
    {
        var e = default(E);
        return e.ToBits(low) | ((uint)e.ToBits(high) << 16);
    }

    /// <summary>Writes one row's channels held by this lane (2 per 8-channel tile), normalised, and its log-sum-exp.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<T, E>(ArrayView<T> result, ArrayView<float> logSumExp, ArrayView<float> output, AttentionShape s,
        int batch, int head, long headIndex, int row, int half, float max, float sum, int tiles, int t)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T>
    {
        if (row >= s.Queries)
        {
            return;
        }
        var e = default(E);
        float inverse = sum > 0f ? 1f / sum : 0f;
        long at = s.HeadRow(batch, s.Queries, row, head);
        for (int c = 0; c < tiles; c++)
        {
            int channel = 8 * c + 2 * t;
            if (channel < s.HeadDim)
            {
                result[at + channel] = e.Store(output[4 * c + half] * inverse);
            }
            if (channel + 1 < s.HeadDim)
            {
                result[at + channel + 1] = e.Store(output[4 * c + half + 1] * inverse);
            }
        }
        if (t == 0)
        {
            logSumExp[headIndex * s.Queries + row] = sum > 0f ? max + MathF.Log(sum) : float.NegativeInfinity;
        }
    }
}
