using Dsoup.Kernels.Nn;
using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>
/// Fused multi-head attention with an online softmax: no score matrix is ever stored. Each thread owns
/// one query row (one key row in the key/value gradient) of one head; the <see cref="Threads"/> threads
/// of a group share tiles of the other side, staged in shared memory. Items are (batch, head, block of
/// rows), walked by the groups in a grid-stride loop, so the loop and its barriers are uniform in a group.
/// </summary>
public static class AttentionKernels
{
    public const int Threads = 64;

    /// <summary>The widest head the per-thread rows (local memory) hold; SD and CLIP heads are 40–160.</summary>
    public const int MaxHeadDim = 256;

    /// <summary>Floats in one shared tile: a tile holds TileFloats / HeadDim rows, at most <see cref="MaxTileRows"/>.</summary>
    private const int TileFloats = 2048;

    private const int MaxTileRows = 256;

    [GpuKernel]
    public static void Forward<T, E>(ArrayView<T> q, ArrayView<T> k, ArrayView<T> v, ArrayView<T> result,
        ArrayView<float> logSumExp, AttentionShape s)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        var keyTile = SharedMemory.Allocate<float>(TileFloats);
        var valueTile = SharedMemory.Allocate<float>(TileFloats);
        var query = LocalMemory.Allocate<float>(MaxHeadDim);
        var output = LocalMemory.Allocate<float>(MaxHeadDim);
        int d = s.HeadDim, tileRows = TileRows(d), blocks = Blocks(s.Queries);
        for (long item = Grid.IdxX; item < (long)s.Batch * s.Heads * blocks; item += Grid.DimX)
        {
            var (batch, head, block, headIndex) = Item(item, blocks, s.Heads);
            int i = block * Group.DimX + Group.IdxX;
            bool active = i < s.Queries;
            long row = s.HeadRow(batch, s.Queries, active ? i : 0, head);
            for (int c = 0; c < d; c++)
            {
                query[c] = active ? e.Load(q[row + c]) * s.Scale : 0f;
                output[c] = 0f;
            }
            int visible = active ? s.Visible(i) : 0;
            int keys = s.Visible(LastRow(block, s.Queries));
            float max = float.NegativeInfinity, sum = 0f;
            for (int j0 = 0; j0 < keys; j0 += tileRows)
            {
                int count = Math.Min(tileRows, keys - j0);
                LoadKeysAndValues<T, E>(k, v, keyTile, valueTile, s.HeadRow(batch, s.Keys, j0, head), count, s);
                int mine = Math.Min(count, visible - j0);
                for (int jj = 0; jj < mine; jj++)
                {
                    float score = Dot(query, keyTile, jj * d, d);
                    float weight = 1f;
                    if (score > max)
                    {
                        // A new maximum: rescale what was summed against the old one.
                        float correction = MathF.Exp(max - score);
                        sum *= correction;
                        for (int c = 0; c < d; c++)
                        {
                            output[c] *= correction;
                        }
                        max = score;
                    }
                    else
                    {
                        weight = MathF.Exp(score - max);
                    }
                    sum += weight;
                    for (int c = 0; c < d; c++)
                    {
                        output[c] += weight * valueTile[jj * d + c];
                    }
                }
                Group.Barrier();
            }
            if (active)
            {
                float inverse = 1f / sum;
                for (int c = 0; c < d; c++)
                {
                    result[row + c] = e.Store(output[c] * inverse);
                }
                logSumExp[headIndex * s.Queries + i] = max + MathF.Log(sum);
            }
        }
    }

    /// <summary>dq = scale · Σ_j P_ij (dO_i·v_j − D_i) k_j per query row; writes D_i = dO_i·O_i to <paramref name="rowDots"/>.</summary>
    [GpuKernel]
    public static void BackwardQuery<T, E>(ArrayView<T> q, ArrayView<T> k, ArrayView<T> v, ArrayView<T> result, ArrayView<T> gradResult,
        ArrayView<float> logSumExp, ArrayView<float> rowDots, ArrayView<T> gradQ, AttentionShape s)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        var keyTile = SharedMemory.Allocate<float>(TileFloats);
        var valueTile = SharedMemory.Allocate<float>(TileFloats);
        var query = LocalMemory.Allocate<float>(MaxHeadDim);
        var gradOutput = LocalMemory.Allocate<float>(MaxHeadDim);
        var gradQuery = LocalMemory.Allocate<float>(MaxHeadDim);
        int d = s.HeadDim, tileRows = TileRows(d), blocks = Blocks(s.Queries);
        for (long item = Grid.IdxX; item < (long)s.Batch * s.Heads * blocks; item += Grid.DimX)
        {
            var (batch, head, block, headIndex) = Item(item, blocks, s.Heads);
            int i = block * Group.DimX + Group.IdxX;
            bool active = i < s.Queries;
            long row = s.HeadRow(batch, s.Queries, active ? i : 0, head);
            float dot = 0f;
            for (int c = 0; c < d; c++)
            {
                query[c] = active ? e.Load(q[row + c]) * s.Scale : 0f;
                float g = active ? e.Load(gradResult[row + c]) : 0f;
                gradOutput[c] = g;
                dot += active ? g * e.Load(result[row + c]) : 0f;
                gradQuery[c] = 0f;
            }
            long statistic = headIndex * s.Queries + (active ? i : 0);
            float lse = active ? logSumExp[statistic] : 0f;
            if (active)
            {
                rowDots[statistic] = dot;
            }
            int visible = active ? s.Visible(i) : 0;
            int keys = s.Visible(LastRow(block, s.Queries));
            for (int j0 = 0; j0 < keys; j0 += tileRows)
            {
                int count = Math.Min(tileRows, keys - j0);
                LoadKeysAndValues<T, E>(k, v, keyTile, valueTile, s.HeadRow(batch, s.Keys, j0, head), count, s);
                int mine = Math.Min(count, visible - j0);
                for (int jj = 0; jj < mine; jj++)
                {
                    float p = MathF.Exp(Dot(query, keyTile, jj * d, d) - lse);
                    float gradScore = p * (Dot(gradOutput, valueTile, jj * d, d) - dot);
                    for (int c = 0; c < d; c++)
                    {
                        gradQuery[c] += gradScore * keyTile[jj * d + c];
                    }
                }
                Group.Barrier();
            }
            if (active)
            {
                for (int c = 0; c < d; c++)
                {
                    gradQ[row + c] = e.Store(gradQuery[c] * s.Scale);
                }
            }
        }
    }

    /// <summary>
    /// dv_j = Σ_i P_ij dO_i and dk_j = scale · Σ_i P_ij (dO_i·v_j − D_i) q_i per key row, reading the
    /// row dots <see cref="BackwardQuery{T, E}"/> wrote.
    /// </summary>
    [GpuKernel]
    public static void BackwardKeyValue<T, E>(ArrayView<T> q, ArrayView<T> k, ArrayView<T> v, ArrayView<T> gradResult,
        ArrayView<float> logSumExp, ArrayView<float> rowDots, ArrayView<T> gradK, ArrayView<T> gradV, AttentionShape s)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        var queryTile = SharedMemory.Allocate<float>(TileFloats);
        var gradTile = SharedMemory.Allocate<float>(TileFloats);
        var lseTile = SharedMemory.Allocate<float>(MaxTileRows);
        var dotTile = SharedMemory.Allocate<float>(MaxTileRows);
        var key = LocalMemory.Allocate<float>(MaxHeadDim);
        var value = LocalMemory.Allocate<float>(MaxHeadDim);
        var gradKey = LocalMemory.Allocate<float>(MaxHeadDim);
        var gradValue = LocalMemory.Allocate<float>(MaxHeadDim);
        int d = s.HeadDim, tileRows = TileRows(d), blocks = Blocks(s.Keys);
        for (long item = Grid.IdxX; item < (long)s.Batch * s.Heads * blocks; item += Grid.DimX)
        {
            var (batch, head, block, headIndex) = Item(item, blocks, s.Heads);
            int j = block * Group.DimX + Group.IdxX;
            bool active = j < s.Keys;
            long row = s.HeadRow(batch, s.Keys, active ? j : 0, head);
            for (int c = 0; c < d; c++)
            {
                key[c] = active ? e.Load(k[row + c]) : 0f;
                value[c] = active ? e.Load(v[row + c]) : 0f;
                gradKey[c] = 0f;
                gradValue[c] = 0f;
            }
            for (int i0 = s.FirstQuerySeeing(block * Group.DimX); i0 < s.Queries; i0 += tileRows)
            {
                int count = Math.Min(tileRows, s.Queries - i0);
                long queryRow = s.HeadRow(batch, s.Queries, i0, head);
                LoadTile<T, E>(q, queryTile, queryRow, count, d, s.Channels, s.Scale);
                LoadTile<T, E>(gradResult, gradTile, queryRow, count, d, s.Channels, 1f);
                for (int t = Group.IdxX; t < count; t += Group.DimX)
                {
                    lseTile[t] = logSumExp[headIndex * s.Queries + i0 + t];
                    dotTile[t] = rowDots[headIndex * s.Queries + i0 + t];
                }
                Group.Barrier();
                for (int ii = 0; ii < count; ii++)
                {
                    if (!active || j >= s.Visible(i0 + ii))
                    {
                        continue;
                    }
                    float p = MathF.Exp(Dot(key, queryTile, ii * d, d) - lseTile[ii]);
                    float gradScore = p * (Dot(value, gradTile, ii * d, d) - dotTile[ii]);
                    for (int c = 0; c < d; c++)
                    {
                        gradValue[c] += p * gradTile[ii * d + c];
                        gradKey[c] += gradScore * queryTile[ii * d + c];
                    }
                }
                Group.Barrier();
            }
            if (active)
            {
                for (int c = 0; c < d; c++)
                {
                    gradK[row + c] = e.Store(gradKey[c]);
                    gradV[row + c] = e.Store(gradValue[c]);
                }
            }
        }
    }

    private static int TileRows(int headDim) => Math.Min(MaxTileRows, TileFloats / headDim);

    private static int Blocks(int rows) => (rows + Group.DimX - 1) / Group.DimX;

    /// <summary>The last row of a block that exists.</summary>
    private static int LastRow(int block, int rows) => Math.Min(rows, (block + 1) * Group.DimX) - 1;

    private static (int Batch, int Head, int Block, long HeadIndex) Item(long item, int blocks, int heads)
    {
        long headIndex = item / blocks;
        return ((int)(headIndex / heads), (int)(headIndex % heads), (int)(item % blocks), headIndex);
    }

    /// <summary>The group stages <paramref name="rows"/> key rows and their value rows of one head, then waits for all of them.</summary>
    private static void LoadKeysAndValues<T, E>(ArrayView<T> k, ArrayView<T> v, ArrayView<float> keyTile, ArrayView<float> valueTile,
        long firstRow, int rows, AttentionShape s)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        LoadTile<T, E>(k, keyTile, firstRow, rows, s.HeadDim, s.Channels, 1f);
        LoadTile<T, E>(v, valueTile, firstRow, rows, s.HeadDim, s.Channels, 1f);
        Group.Barrier();
    }

    /// <summary>The group copies <paramref name="rows"/> head rows, scaled, into a shared tile.</summary>
    private static void LoadTile<T, E>(ArrayView<T> data, ArrayView<float> tile, long firstRow, int rows, int d, int channels, float scale)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        for (int t = Group.IdxX; t < rows * d; t += Group.DimX)
        {
            int r = t / d;
            tile[t] = e.Load(data[firstRow + (long)r * channels + (t - r * d)]) * scale;
        }
    }

    private static float Dot(ArrayView<float> row, ArrayView<float> tile, int offset, int d)
    {
        float sum = 0f;
        for (int c = 0; c < d; c++)
        {
            sum += row[c] * tile[offset + c];
        }
        return sum;
    }
}
