using System.Runtime.CompilerServices;
using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>
/// Where the operands of one <see cref="ImplicitGemm"/> live: C[batch] = Alpha·A·B + Beta·C (+ bias), with
/// A M×K and B K×N given by the element index of each entry rather than by a dense layout, so that a
/// convolution multiplies straight out of the image (an implicit GEMM) with no column matrix in memory.
/// </summary>
public interface IGemmOperands
{
    int M { get; }

    int N { get; }

    int K { get; }

    /// <summary>True when consecutive k of one row of A are adjacent in memory, so a tile is staged along k.</summary>
    bool AAlongK { get; }

    /// <summary>True when consecutive k of one column of B are adjacent in memory.</summary>
    bool BAlongK { get; }

    float Alpha { get; }

    float Beta { get; }

    /// <summary>Element index of A[row, k] in the A buffer, or −1 where the entry is zero (padding).</summary>
    long IndexA(int batch, int row, int k);

    /// <summary>Element index of B[k, column] in the B buffer, or −1 where the entry is zero.</summary>
    long IndexB(int batch, int k, int column);

    long IndexC(int batch, int row, int column);

    /// <summary>Element index of the bias added to C[row, column], or −1 for none.</summary>
    long IndexBias(int row, int column);
}

/// <summary>
/// The tiled shared-memory GEMM body every matrix product kernel shares: a 16×16 group computes a 64×64
/// tile of C, each thread a 4×4 block (rows ty + 16i, columns tx + 16j, so shared-memory reads and global
/// writes stay coalesced). Tiles of A and B 16 deep are staged in shared memory as f32, each thread loading
/// four entries of each in the order memory is contiguous; the k loop is unrolled by hand because ILGPU
/// 1.5.3 does not unroll. Grid: (⌈N/64⌉, ⌈M/64⌉, batch).
/// </summary>
internal static class ImplicitGemm
{
    public const int Tile = 64;
    public const int Depth = 16;
    public const int Threads = 16;

    /// <summary>The launch for an M×N result per batch: one group per 64×64 tile.</summary>
    public static KernelConfig Launch(int m, int n, int batch) =>
        new(new Index3D((n + Tile - 1) / Tile, (m + Tile - 1) / Tile, batch), new Index3D(Threads, Threads, 1));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Run<T, E, TOperands>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, ArrayView<T> bias, TOperands ops)
        where T : unmanaged
        where E : struct, IElement<T>
        where TOperands : struct, IGemmOperands
    {
        var e = default(E);
        var tileA = SharedMemory.Allocate<float>(Depth * Tile); // [k][row]
        var tileB = SharedMemory.Allocate<float>(Depth * Tile); // [k][col]
        int tx = Group.IdxX, ty = Group.IdxY;
        int tid = ty * Threads + tx;
        int row0 = Grid.IdxY * Tile, col0 = Grid.IdxX * Tile, batch = Grid.IdxZ;
        int m = ops.M, n = ops.N, depth = ops.K;
        bool aAlongK = ops.AAlongK, bAlongK = ops.BAlongK;
        var acc = default(Accumulator4x4);

        for (int k0 = 0; k0 < depth; k0 += Depth)
        {
            for (int l = 0; l < 4; l++)
            {
                int idx = tid + l * Threads * Threads;
                int r = aAlongK ? idx / Depth : idx % Tile;
                int kk = aAlongK ? idx % Depth : idx / Tile;
                int gr = row0 + r, gk = k0 + kk;
                float va = 0f;
                if (gr < m && gk < depth)
                {
                    long at = ops.IndexA(batch, gr, gk);
                    if (at >= 0)
                    {
                        va = e.Load(a[at]);
                    }
                }
                tileA[kk * Tile + r] = va;

                int cc = bAlongK ? idx / Depth : idx % Tile;
                int kb = bAlongK ? idx % Depth : idx / Tile;
                int gc = col0 + cc, gkb = k0 + kb;
                float vb = 0f;
                if (gc < n && gkb < depth)
                {
                    long at = ops.IndexB(batch, gkb, gc);
                    if (at >= 0)
                    {
                        vb = e.Load(b[at]);
                    }
                }
                tileB[kb * Tile + cc] = vb;
            }
            Group.Barrier();
            for (int kk = 0; kk < Depth; kk += 4)
            {
                Step(ref acc, tileA, tileB, kk, tx, ty);
                Step(ref acc, tileA, tileB, kk + 1, tx, ty);
                Step(ref acc, tileA, tileB, kk + 2, tx, ty);
                Step(ref acc, tileA, tileB, kk + 3, tx, ty);
            }
            Group.Barrier();
        }

        float alpha = ops.Alpha, beta = ops.Beta;
        for (int i = 0; i < 4; i++)
        {
            int gr = row0 + ty + i * Threads;
            for (int j = 0; j < 4; j++)
            {
                int gc = col0 + tx + j * Threads;
                if (gr < m && gc < n)
                {
                    long at = ops.IndexC(batch, gr, gc);
                    float v = alpha * acc.Get(i, j);
                    if (beta != 0f)
                    {
                        v += beta * e.Load(c[at]);
                    }
                    long biasAt = ops.IndexBias(gr, gc);
                    if (biasAt >= 0)
                    {
                        v += e.Load(bias[biasAt]);
                    }
                    c[at] = e.Store(v);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(ref Accumulator4x4 acc, ArrayView<float> tileA, ArrayView<float> tileB, int kk, int tx, int ty)
    {
        int ra = kk * Tile + ty, rb = kk * Tile + tx;
        acc.Add(tileA[ra], tileA[ra + 16], tileA[ra + 32], tileA[ra + 48],
            tileB[rb], tileB[rb + 16], tileB[rb + 32], tileB[rb + 48]);
    }
}
