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

    private const int QueryRows = 64;
    private const int KeyRows = 32;
    private const int ValueStride = KeyRows / 2 + 4;

    /// <summary>Work items of one launch: one per 64 queries of one head.</summary>
    public static int Items(AttentionShape s) => s.Batch * s.Heads * ((s.Queries + QueryRows - 1) / QueryRows);

    [GpuKernel]
    public static void Forward<T, E>(ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v, ArrayView<T> result,
        ArrayView<float> logSumExp, AttentionShape s)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T>
    {
        const int Stride = AttentionTiles.RowStride;
        var e = default(E);
        var queryTile = SharedMemory.Allocate<uint>(QueryRows * Stride);                    // [query][channel pair]
        var keyTile = SharedMemory.Allocate<uint>(KeyRows * Stride);                        // [key][channel pair]
        var valueTile = SharedMemory.Allocate<uint>(AttentionTiles.MaxHeadDim * ValueStride); // [channel][key pair]
        var output = LocalMemory.Allocate<float>(AttentionTiles.MaxHeadDim / 2);
        var scratch = MmaEmulation.View();
        int tid = Group.IdxX, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
        int words = AttentionTiles.Words(s.HeadDim), tiles = AttentionTiles.OutputTiles(s.HeadDim);
        int blocks = (s.Queries + QueryRows - 1) / QueryRows;
        for (long item = Grid.IdxX; item < (long)s.Batch * s.Heads * blocks; item += Grid.DimX)
        {
            var (first, head, batch, headIndex) = AttentionTiles.Item(item, blocks, QueryRows, s.Heads);
            Group.Barrier(); // the previous item's tiles are no longer read
            AttentionTiles.Rows(q, queryTile, Stride, s, batch, head, s.Queries, first, QueryRows, s.Queries);
            AttentionTiles.Clear(output, tiles);
            int row0 = first + warp * 16 + g, row1 = row0 + 8;
            int visible0 = row0 < s.Queries ? s.Visible(row0) : 0, visible1 = row1 < s.Queries ? s.Visible(row1) : 0;
            float max0 = float.NegativeInfinity, max1 = float.NegativeInfinity, sum0 = 0f, sum1 = 0f;
            int keys = s.Visible(Math.Min(s.Queries, first + QueryRows) - 1);
            for (int j0 = 0; j0 < keys; j0 += KeyRows)
            {
                Group.Barrier(); // the previous key and value tiles are no longer read
                AttentionTiles.Rows(k, keyTile, Stride, s, batch, head, s.Keys, j0, KeyRows, keys);
                AttentionTiles.Columns(v, valueTile, ValueStride, s, batch, head, s.Keys, j0, KeyRows, keys);
                Group.Barrier();

                MmaC s0 = default, s1 = default, s2 = default, s3 = default;
                for (int kw = 0; kw < words; kw += 8)
                {
                    MmaA a = FragmentLoads.A(queryTile, Stride, warp * 16, kw, g, t);
                    MmaB b0 = FragmentLoads.B(keyTile, Stride, 0, kw, g, t), b1 = FragmentLoads.B(keyTile, Stride, 8, kw, g, t);
                    MmaB b2 = FragmentLoads.B(keyTile, Stride, 16, kw, g, t), b3 = FragmentLoads.B(keyTile, Stride, 24, kw, g, t);
                    MmaEmulation.Publish(scratch, a, 0);
                    MmaEmulation.Publish(scratch, b0, 4);
                    MmaEmulation.Publish(scratch, b1, 6);
                    MmaEmulation.Publish(scratch, b2, 8);
                    MmaEmulation.Publish(scratch, b3, 10);
                    MmaEmulation.Exchange();
                    s0 = e.Mma(a, 0, b0, 4, s0, scratch);
                    s1 = e.Mma(a, 0, b1, 6, s1, scratch);
                    s2 = e.Mma(a, 0, b2, 8, s2, scratch);
                    s3 = e.Mma(a, 0, b3, 10, s3, scratch);
                    MmaEmulation.Exchange();
                }
                int key = j0 + 2 * t;
                s0 = AttentionScores.Masked(s0, key < visible0, key + 1 < visible0, key < visible1, key + 1 < visible1, s.Scale);
                s1 = AttentionScores.Masked(s1, key + 8 < visible0, key + 9 < visible0, key + 8 < visible1, key + 9 < visible1, s.Scale);
                s2 = AttentionScores.Masked(s2, key + 16 < visible0, key + 17 < visible0, key + 16 < visible1, key + 17 < visible1, s.Scale);
                s3 = AttentionScores.Masked(s3, key + 24 < visible0, key + 25 < visible0, key + 24 < visible1, key + 25 < visible1, s.Scale);

                float next0 = MathF.Max(max0, AttentionScores.QuadMax(MathF.Max(MathF.Max(MathF.Max(s0.C0, s0.C1), MathF.Max(s1.C0, s1.C1)), MathF.Max(MathF.Max(s2.C0, s2.C1), MathF.Max(s3.C0, s3.C1)))));
                float next1 = MathF.Max(max1, AttentionScores.QuadMax(MathF.Max(MathF.Max(MathF.Max(s0.C2, s0.C3), MathF.Max(s1.C2, s1.C3)), MathF.Max(MathF.Max(s2.C2, s2.C3), MathF.Max(s3.C2, s3.C3)))));
                float correction0 = AttentionScores.Rescale(max0, next0), correction1 = AttentionScores.Rescale(max1, next1);
                max0 = next0;
                max1 = next1;
                s0 = AttentionScores.RowProbabilities(s0, max0, max1);
                s1 = AttentionScores.RowProbabilities(s1, max0, max1);
                s2 = AttentionScores.RowProbabilities(s2, max0, max1);
                s3 = AttentionScores.RowProbabilities(s3, max0, max1);
                sum0 = sum0 * correction0 + s0.C0 + s0.C1 + s1.C0 + s1.C1 + s2.C0 + s2.C1 + s3.C0 + s3.C1;
                sum1 = sum1 * correction1 + s0.C2 + s0.C3 + s1.C2 + s1.C3 + s2.C2 + s2.C3 + s3.C2 + s3.C3;
                for (int c = 0; c < tiles; c++)
                {
                    output[4 * c] *= correction0;
                    output[4 * c + 1] *= correction0;
                    output[4 * c + 2] *= correction1;
                    output[4 * c + 3] *= correction1;
                }
                // The score accumulators of two neighbouring 8-key tiles are, packed, the A fragment of 16 keys.
                AttentionTiles.Accumulate<T, E>(output, AttentionTiles.Operand<T, E>(s0, s1), valueTile, ValueStride, 0, tiles, g, t, scratch);
                AttentionTiles.Accumulate<T, E>(output, AttentionTiles.Operand<T, E>(s2, s3), valueTile, ValueStride, 8, tiles, g, t, scratch);
            }
            sum0 = AttentionScores.QuadSum(sum0);
            sum1 = AttentionScores.QuadSum(sum1);
            StoreRow<T, E>(result, logSumExp, output, s, batch, head, headIndex, row0, 0, max0, sum0, t);
            StoreRow<T, E>(result, logSumExp, output, s, batch, head, headIndex, row1, 2, max1, sum1, t);
        }
    }

    /// <summary>Writes one row of the output, normalised by its sum, and its log-sum-exp.</summary>
    private static void StoreRow<T, E>(ArrayView<T> result, ArrayView<float> logSumExp, ArrayView<float> output, AttentionShape s,
        int batch, int head, long headIndex, int row, int half, float max, float sum, int t)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T>
    {
        if (row >= s.Queries)
        {
            return;
        }
        AttentionTiles.StoreRow<T, E>(result, output, s, s.HeadRow(batch, s.Queries, row, head), half, sum > 0f ? 1f / sum : 0f, t);
        if (t == 0)
        {
            logSumExp[headIndex * s.Queries + row] = sum > 0f ? max + MathF.Log(sum) : float.NegativeInfinity;
        }
    }
}
