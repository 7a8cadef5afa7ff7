using System.Runtime.CompilerServices;
using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>Sizes, layouts and scalars of one batched GEMM, passed to the kernel by value.</summary>
public struct GemmShape
{
    public int M;
    public int N;
    public int K;
    public int TransposeA;
    public int TransposeB;
    public long BatchStrideA;
    public long BatchStrideB;
    public long BatchStrideC;
    public float Alpha;
    public float Beta;
}

/// <summary>A 4×4 block of f32 accumulators held in registers by one thread.</summary>
public struct Accumulator4x4
{
    public float C00, C01, C02, C03, C10, C11, C12, C13, C20, C21, C22, C23, C30, C31, C32, C33;

    /// <summary>Adds the outer product a ⊗ b. Plain mul+add: ptxas fuses it (MathF.FusedMultiplyAdd would not translate).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(float a0, float a1, float a2, float a3, float b0, float b1, float b2, float b3)
    {
        C00 += a0 * b0; C01 += a0 * b1; C02 += a0 * b2; C03 += a0 * b3;
        C10 += a1 * b0; C11 += a1 * b1; C12 += a1 * b2; C13 += a1 * b3;
        C20 += a2 * b0; C21 += a2 * b1; C22 += a2 * b2; C23 += a2 * b3;
        C30 += a3 * b0; C31 += a3 * b1; C32 += a3 * b2; C33 += a3 * b3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Get(int i, int j) => i switch
    {
        0 => j == 0 ? C00 : j == 1 ? C01 : j == 2 ? C02 : C03,
        1 => j == 0 ? C10 : j == 1 ? C11 : j == 2 ? C12 : C13,
        2 => j == 0 ? C20 : j == 1 ? C21 : j == 2 ? C22 : C23,
        _ => j == 0 ? C30 : j == 1 ? C31 : j == 2 ? C32 : C33,
    };
}

/// <summary>
/// Tiled shared-memory GEMM: a 16×16 group computes a 64×64 tile of C, each thread a 4×4 block
/// (rows ty + 16i, columns tx + 16j, so shared-memory reads and global writes stay coalesced).
/// Tiles of op(A) and op(B) 16 deep are staged in shared memory as f32; the k loop is unrolled by
/// hand because ILGPU 1.5.3 does not unroll. Grid: (⌈N/64⌉, ⌈M/64⌉, batch).
/// </summary>
public static class GemmKernels
{
    public const int Tile = 64;
    public const int Depth = 16;
    public const int Threads = 16;

    [GpuKernel]
    public static void Gemm<T, E>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, GemmShape s)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        var tileA = SharedMemory.Allocate<float>(Depth * Tile); // [k][row]
        var tileB = SharedMemory.Allocate<float>(Depth * Tile); // [k][col]
        int tx = Group.IdxX, ty = Group.IdxY;
        int tid = ty * Threads + tx;
        int row0 = Grid.IdxY * Tile, col0 = Grid.IdxX * Tile;
        long batch = Grid.IdxZ;
        long baseA = batch * s.BatchStrideA, baseB = batch * s.BatchStrideB, baseC = batch * s.BatchStrideC;
        var acc = default(Accumulator4x4);

        for (int k0 = 0; k0 < s.K; k0 += Depth)
        {
            // Each of the 256 threads stages 4 elements of each tile, walking memory contiguously.
            for (int l = 0; l < 4; l++)
            {
                int idx = tid + l * Threads * Threads;
                int r = s.TransposeA != 0 ? idx % Tile : idx / Depth;
                int kk = s.TransposeA != 0 ? idx / Tile : idx % Depth;
                int gr = row0 + r, gk = k0 + kk;
                float va = 0f;
                if (gr < s.M && gk < s.K)
                {
                    va = e.Load(a[baseA + (s.TransposeA != 0 ? (long)gk * s.M + gr : (long)gr * s.K + gk)]);
                }
                tileA[kk * Tile + r] = va;

                int cc = s.TransposeB != 0 ? idx / Depth : idx % Tile;
                int kb = s.TransposeB != 0 ? idx % Depth : idx / Tile;
                int gc = col0 + cc, gkb = k0 + kb;
                float vb = 0f;
                if (gc < s.N && gkb < s.K)
                {
                    vb = e.Load(b[baseB + (s.TransposeB != 0 ? (long)gc * s.K + gkb : (long)gkb * s.N + gc)]);
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

        for (int i = 0; i < 4; i++)
        {
            int gr = row0 + ty + i * Threads;
            for (int j = 0; j < 4; j++)
            {
                int gc = col0 + tx + j * Threads;
                if (gr < s.M && gc < s.N)
                {
                    long at = baseC + (long)gr * s.N + gc;
                    float v = s.Alpha * acc.Get(i, j);
                    if (s.Beta != 0f)
                    {
                        v += s.Beta * e.Load(c[at]);
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
