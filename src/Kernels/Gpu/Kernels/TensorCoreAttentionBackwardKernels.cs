using Dsoup.Kernels.Gpu.TensorCores;
using Dsoup.Kernels.Nn;
using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>
/// Fused attention backward on tensor cores (the FlashAttention-2 scheme), in two kernels that recompute the
/// probabilities P = exp(scale·QKᵀ − LSE) tile by tile from the forward's log-sum-exp:
/// <list type="bullet">
/// <item><see cref="Query"/>: per 32 queries, D = rowsum(dO ∘ O) (kept in <c>rowDots</c> for the second kernel), then
/// over key tiles of 16: S = QKᵀ, dP = dO·Vᵀ, dS = P ∘ (dP − D), dQ += dS·K.</item>
/// <item><see cref="KeyValue"/>: per 32 keys, over query tiles of 16: Sᵀ = KQᵀ, dPᵀ = V·dOᵀ, dV += Pᵀ·dO,
/// dK += dSᵀ·Q.</item>
/// </list>
/// Each group is 2 warps of 16 rows. Every product is an m16n8k16 MMA; the probability and score gradients
/// are rounded to the dtype where they become operands (as in the forward). Accumulators of the gradients live
/// in local memory (heads up to 160 channels); scale is applied once at the end.
/// </summary>
public static class TensorCoreAttentionBackwardKernels
{
    public const int Threads = 64;

    private const int BlockRows = 32;
    private const int TileRows = 16;
    private const int Stride = AttentionTiles.RowStride;
    private const int Transposed = AttentionTiles.ColumnStride;

    /// <summary>Work items of one launch over <paramref name="rows"/> rows per head: one per 32 rows.</summary>
    public static int Items(AttentionShape s, int rows) => s.Batch * s.Heads * ((rows + BlockRows - 1) / BlockRows);

    [GpuKernel]
    public static void Query<T, E>(ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v, ArrayView<ushort> result,
        ArrayView<ushort> gradResult, ArrayView<float> logSumExp, ArrayView<float> rowDots, ArrayView<T> gradQ, AttentionShape s)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T>
    {
        var e = default(E);
        var queryTile = SharedMemory.Allocate<uint>(BlockRows * Stride);                          // [query][channel pair]
        var gradTile = SharedMemory.Allocate<uint>(BlockRows * Stride);                           // [query][channel pair] of dO
        var keyTile = SharedMemory.Allocate<uint>(TileRows * Stride);                             // [key][channel pair]
        var keyColumns = SharedMemory.Allocate<uint>(AttentionTiles.MaxHeadDim * Transposed);     // [channel][key pair]
        var valueTile = SharedMemory.Allocate<uint>(TileRows * Stride);                           // [key][channel pair]
        var statistics = SharedMemory.Allocate<float>(2 * BlockRows);                             // LSE, then D, per query
        var gradient = LocalMemory.Allocate<float>(AttentionTiles.MaxHeadDim / 2);
        var scratch = MmaEmulation.View();
        int tid = Group.IdxX, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
        int words = AttentionTiles.Words(s.HeadDim), tiles = AttentionTiles.OutputTiles(s.HeadDim);
        int blocks = (s.Queries + BlockRows - 1) / BlockRows;
        for (long item = Grid.IdxX; item < (long)s.Batch * s.Heads * blocks; item += Grid.DimX)
        {
            var (first, head, batch, headIndex) = AttentionTiles.Item(item, blocks, BlockRows, s.Heads);
            Group.Barrier(); // the previous item's tiles are no longer read
            AttentionTiles.Rows(q, queryTile, Stride, s, batch, head, s.Queries, first, BlockRows, s.Queries);
            AttentionTiles.Rows(gradResult, gradTile, Stride, s, batch, head, s.Queries, first, BlockRows, s.Queries);
            if (tid < BlockRows)
            {
                int i = first + tid;
                float dot = 0f;
                if (i < s.Queries)
                {
                    long at = s.HeadRow(batch, s.Queries, i, head);
                    for (int c = 0; c < s.HeadDim; c++)
                    {
                        dot += e.FromBits(gradResult[at + c]) * e.FromBits(result[at + c]);
                    }
                    rowDots[headIndex * s.Queries + i] = dot;
                }
                statistics[tid] = i < s.Queries ? logSumExp[headIndex * s.Queries + i] : float.NegativeInfinity;
                statistics[BlockRows + tid] = dot;
            }
            AttentionTiles.Clear(gradient, tiles);
            Group.Barrier();
            int local0 = warp * 16 + g, row0 = first + local0, row1 = row0 + 8;
            int visible0 = row0 < s.Queries ? s.Visible(row0) : 0, visible1 = row1 < s.Queries ? s.Visible(row1) : 0;
            float lse0 = statistics[local0], lse1 = statistics[local0 + 8];
            float dot0 = statistics[BlockRows + local0], dot1 = statistics[BlockRows + local0 + 8];
            int keys = s.Visible(Math.Min(s.Queries, first + BlockRows) - 1);
            for (int j0 = 0; j0 < keys; j0 += TileRows)
            {
                Group.Barrier(); // the previous key and value tiles are no longer read
                AttentionTiles.Rows(k, keyTile, Stride, s, batch, head, s.Keys, j0, TileRows, keys);
                AttentionTiles.Columns(k, keyColumns, Transposed, s, batch, head, s.Keys, j0, TileRows, keys);
                AttentionTiles.Rows(v, valueTile, Stride, s, batch, head, s.Keys, j0, TileRows, keys);
                Group.Barrier();

                MmaC s0 = default, s1 = default, dp0 = default, dp1 = default;
                for (int kw = 0; kw < words; kw += 8)
                {
                    (s0, s1, dp0, dp1) = ScoresAndGradients<T, E>(
                        FragmentLoads.A(queryTile, Stride, warp * 16, kw, g, t), FragmentLoads.A(gradTile, Stride, warp * 16, kw, g, t),
                        keyTile, valueTile, kw, g, t, s0, s1, dp0, dp1, scratch);
                }
                int key = j0 + 2 * t;
                MmaC p0 = AttentionScores.RowProbabilities(
                    AttentionScores.Masked(s0, key < visible0, key + 1 < visible0, key < visible1, key + 1 < visible1, s.Scale), lse0, lse1);
                MmaC p1 = AttentionScores.RowProbabilities(
                    AttentionScores.Masked(s1, key + 8 < visible0, key + 9 < visible0, key + 8 < visible1, key + 9 < visible1, s.Scale), lse0, lse1);
                MmaA gradScores = AttentionTiles.Operand<T, E>(
                    AttentionScores.RowGradient(p0, dp0, dot0, dot1), AttentionScores.RowGradient(p1, dp1, dot0, dot1));
                AttentionTiles.Accumulate<T, E>(gradient, gradScores, keyColumns, Transposed, 0, tiles, g, t, scratch);
            }
            if (row0 < s.Queries)
            {
                AttentionTiles.StoreRow<T, E>(gradQ, gradient, s, s.HeadRow(batch, s.Queries, row0, head), 0, s.Scale, t);
            }
            if (row1 < s.Queries)
            {
                AttentionTiles.StoreRow<T, E>(gradQ, gradient, s, s.HeadRow(batch, s.Queries, row1, head), 2, s.Scale, t);
            }
        }
    }

    [GpuKernel]
    public static void KeyValue<T, E>(ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v, ArrayView<ushort> gradResult,
        ArrayView<float> logSumExp, ArrayView<float> rowDots, ArrayView<T> gradK, ArrayView<T> gradV, AttentionShape s)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T>
    {
        var keyTile = SharedMemory.Allocate<uint>(BlockRows * Stride);                            // [key][channel pair]
        var valueTile = SharedMemory.Allocate<uint>(BlockRows * Stride);                          // [key][channel pair]
        var queryTile = SharedMemory.Allocate<uint>(TileRows * Stride);                           // [query][channel pair]
        var queryColumns = SharedMemory.Allocate<uint>(AttentionTiles.MaxHeadDim * Transposed);   // [channel][query pair]
        var gradTile = SharedMemory.Allocate<uint>(TileRows * Stride);                            // [query][channel pair] of dO
        var gradColumns = SharedMemory.Allocate<uint>(AttentionTiles.MaxHeadDim * Transposed);    // [channel][query pair] of dO
        var statistics = SharedMemory.Allocate<float>(2 * TileRows);                              // LSE, then D, per query
        var gradKey = LocalMemory.Allocate<float>(AttentionTiles.MaxHeadDim / 2);
        var gradValue = LocalMemory.Allocate<float>(AttentionTiles.MaxHeadDim / 2);
        var scratch = MmaEmulation.View();
        int tid = Group.IdxX, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
        int words = AttentionTiles.Words(s.HeadDim), tiles = AttentionTiles.OutputTiles(s.HeadDim);
        int blocks = (s.Keys + BlockRows - 1) / BlockRows;
        for (long item = Grid.IdxX; item < (long)s.Batch * s.Heads * blocks; item += Grid.DimX)
        {
            var (first, head, batch, headIndex) = AttentionTiles.Item(item, blocks, BlockRows, s.Heads);
            Group.Barrier(); // the previous item's tiles are no longer read
            AttentionTiles.Rows(k, keyTile, Stride, s, batch, head, s.Keys, first, BlockRows, s.Keys);
            AttentionTiles.Rows(v, valueTile, Stride, s, batch, head, s.Keys, first, BlockRows, s.Keys);
            AttentionTiles.Clear(gradKey, tiles);
            AttentionTiles.Clear(gradValue, tiles);
            int key0 = first + warp * 16 + g, key1 = key0 + 8;
            // Queries before the first that sees this block's first key see none of its keys.
            for (int i0 = s.FirstQuerySeeing(first) / TileRows * TileRows; i0 < s.Queries; i0 += TileRows)
            {
                Group.Barrier(); // the previous query tiles are no longer read (and the key tiles are written)
                AttentionTiles.Rows(q, queryTile, Stride, s, batch, head, s.Queries, i0, TileRows, s.Queries);
                AttentionTiles.Columns(q, queryColumns, Transposed, s, batch, head, s.Queries, i0, TileRows, s.Queries);
                AttentionTiles.Rows(gradResult, gradTile, Stride, s, batch, head, s.Queries, i0, TileRows, s.Queries);
                AttentionTiles.Columns(gradResult, gradColumns, Transposed, s, batch, head, s.Queries, i0, TileRows, s.Queries);
                if (tid < TileRows)
                {
                    int i = i0 + tid;
                    statistics[tid] = i < s.Queries ? logSumExp[headIndex * s.Queries + i] : float.NegativeInfinity;
                    statistics[TileRows + tid] = i < s.Queries ? rowDots[headIndex * s.Queries + i] : 0f;
                }
                Group.Barrier();

                MmaC s0 = default, s1 = default, dp0 = default, dp1 = default;
                for (int kw = 0; kw < words; kw += 8)
                {
                    (s0, s1, dp0, dp1) = ScoresAndGradients<T, E>(
                        FragmentLoads.A(keyTile, Stride, warp * 16, kw, g, t), FragmentLoads.A(valueTile, Stride, warp * 16, kw, g, t),
                        queryTile, gradTile, kw, g, t, s0, s1, dp0, dp1, scratch);
                }
                // Transposed tiles: rows are keys (g, g+8), columns queries (2t, 2t+1 of each 8).
                int query = i0 + 2 * t;
                MmaC p0 = AttentionScores.ColumnProbabilities(AttentionScores.Masked(s0,
                    Sees(s, query, key0), Sees(s, query + 1, key0), Sees(s, query, key1), Sees(s, query + 1, key1), s.Scale),
                    statistics[2 * t], statistics[2 * t + 1]);
                MmaC p1 = AttentionScores.ColumnProbabilities(AttentionScores.Masked(s1,
                    Sees(s, query + 8, key0), Sees(s, query + 9, key0), Sees(s, query + 8, key1), Sees(s, query + 9, key1), s.Scale),
                    statistics[2 * t + 8], statistics[2 * t + 9]);
                AttentionTiles.Accumulate<T, E>(gradValue, AttentionTiles.Operand<T, E>(p0, p1), gradColumns, Transposed, 0, tiles, g, t, scratch);
                MmaA gradScores = AttentionTiles.Operand<T, E>(
                    AttentionScores.ColumnGradient(p0, dp0, statistics[TileRows + 2 * t], statistics[TileRows + 2 * t + 1]),
                    AttentionScores.ColumnGradient(p1, dp1, statistics[TileRows + 2 * t + 8], statistics[TileRows + 2 * t + 9]));
                AttentionTiles.Accumulate<T, E>(gradKey, gradScores, queryColumns, Transposed, 0, tiles, g, t, scratch);
            }
            StoreKey<T, E>(gradK, gradV, gradKey, gradValue, s, batch, head, key0, 0, t);
            StoreKey<T, E>(gradK, gradV, gradKey, gradValue, s, batch, head, key1, 2, t);
        }
    }

    /// <summary>
    /// One 16-deep step of the two products both kernels need, against 16 columns each (one emulation batch):
    /// scores += first · <paramref name="firstColumns"/>ᵀ and score gradients += second · <paramref name="secondColumns"/>ᵀ.
    /// </summary>
    private static (MmaC, MmaC, MmaC, MmaC) ScoresAndGradients<T, E>(MmaA first, MmaA second, ArrayView<uint> firstColumns, ArrayView<uint> secondColumns,
        int word, int g, int t, MmaC s0, MmaC s1, MmaC dp0, MmaC dp1, ArrayView<uint> scratch)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T>
    {
        var e = default(E);
        MmaB f0 = FragmentLoads.B(firstColumns, Stride, 0, word, g, t), f1 = FragmentLoads.B(firstColumns, Stride, 8, word, g, t);
        MmaB s0b = FragmentLoads.B(secondColumns, Stride, 0, word, g, t), s1b = FragmentLoads.B(secondColumns, Stride, 8, word, g, t);
        MmaEmulation.Publish(scratch, first, 0);
        MmaEmulation.Publish(scratch, second, 4);
        MmaEmulation.Publish(scratch, f0, 8);
        MmaEmulation.Publish(scratch, f1, 10);
        MmaEmulation.Publish(scratch, s0b, 12);
        MmaEmulation.Publish(scratch, s1b, 14);
        MmaEmulation.Exchange();
        s0 = e.Mma(first, 0, f0, 8, s0, scratch);
        s1 = e.Mma(first, 0, f1, 10, s1, scratch);
        dp0 = e.Mma(second, 4, s0b, 12, dp0, scratch);
        dp1 = e.Mma(second, 4, s1b, 14, dp1, scratch);
        MmaEmulation.Exchange();
        return (s0, s1, dp0, dp1);
    }

    /// <summary>Whether query <paramref name="query"/> (possibly past the last) attends to key <paramref name="key"/> (possibly past the last).</summary>
    private static bool Sees(AttentionShape s, int query, int key) => query < s.Queries && key < s.Visible(query);

    private static void StoreKey<T, E>(ArrayView<T> gradK, ArrayView<T> gradV, ArrayView<float> gradKey, ArrayView<float> gradValue,
        AttentionShape s, int batch, int head, int key, int half, int t)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T>
    {
        if (key >= s.Keys)
        {
            return;
        }
        long at = s.HeadRow(batch, s.Keys, key, head);
        AttentionTiles.StoreRow<T, E>(gradK, gradKey, s, at, half, s.Scale, t);
        AttentionTiles.StoreRow<T, E>(gradV, gradValue, s, at, half, 1f, t);
    }
}
