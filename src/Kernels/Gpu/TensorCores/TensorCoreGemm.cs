using System.Runtime.CompilerServices;
using Dsoup.Kernels.Gpu.Kernels;
using ILGPU;
using ILGPU.Runtime;

namespace Dsoup.Kernels.Gpu.TensorCores;

/// <summary>
/// The tensor-core GEMM body for 16-bit operands with f32 accumulation, over any <see cref="IGemmOperands"/>
/// (dense, batched, transposed, or an implicit convolution). A group of 8 warps computes a 128×64 tile of C,
/// each warp a 32×32 <see cref="WarpTile"/>. Each 32-deep slice of A and B is staged in shared memory as
/// pairs of consecutive k packed in one 32-bit word — exactly the registers the MMA fragments want — with
/// rows padded to 20 words so the eight rows a fragment load touches fall in distinct banks. Out-of-range
/// entries are staged as zero, so ragged M, N and K need no special case.
/// Grid: (⌈N/64⌉, ⌈M/128⌉, batch), groups of 256 threads.
/// </summary>
internal static class TensorCoreGemm
{
    public const int TileM = 128;
    public const int TileN = 64;
    public const int TileK = 32;
    public const int Threads = 256;
    private const int Words = TileK / 2;
    private const int Stride = Words + 4;

    /// <param name="emulated">True where the MMA is emulated (not CUDA): the launch then carries the emulation's scratch.</param>
    public static KernelConfig Launch(int m, int n, int batch, bool emulated) =>
        new(new Index3D((n + TileN - 1) / TileN, (m + TileM - 1) / TileM, batch), new Index3D(Threads, 1, 1),
            MmaEmulation.Scratch(Threads, emulated));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Run<T, E, TOperands>(ArrayView<ushort> a, ArrayView<ushort> b, ArrayView<T> c, ArrayView<T> bias, TOperands ops)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T>
        where TOperands : struct, IGemmOperands
    {
        var tileA = SharedMemory.Allocate<uint>(TileM * Stride); // [row][k pair]
        var tileB = SharedMemory.Allocate<uint>(TileN * Stride); // [column][k pair]
        var scratch = MmaEmulation.View();
        int tid = Group.IdxX;
        int warp = tid >> 5, lane = tid & 31;
        int g = lane >> 2, t = lane & 3;
        int warpRow = (warp >> 1) * WarpTile.Rows, warpColumn = (warp & 1) * WarpTile.Columns;
        int row0 = Grid.IdxY * TileM, column0 = Grid.IdxX * TileN, batch = Grid.IdxZ;
        int m = ops.M, n = ops.N, depth = ops.K;
        bool aAlongK = ops.AAlongK, bAlongK = ops.BAlongK;
        var acc = default(WarpTile);

        for (int k0 = 0; k0 < depth; k0 += TileK)
        {
            for (int l = 0; l < TileM * Words / Threads; l++)
            {
                int w = tid + l * Threads;
                // Along k, neighbouring threads take neighbouring k pairs of one row; across, neighbouring rows.
                int r = aAlongK ? w / Words : w % TileM;
                int kp = aAlongK ? w % Words : w / TileM;
                int gr = row0 + r, gk = k0 + 2 * kp;
                long at0 = gr < m && gk < depth ? ops.IndexA(batch, gr, gk) : -1;
                long at1 = gr < m && gk + 1 < depth ? ops.IndexA(batch, gr, gk + 1) : -1;
                tileA[r * Stride + kp] = FragmentLoads.Pair(a, at0, at1);
            }
            for (int l = 0; l < TileN * Words / Threads; l++)
            {
                int w = tid + l * Threads;
                int cc = bAlongK ? w / Words : w % TileN;
                int kp = bAlongK ? w % Words : w / TileN;
                int gc = column0 + cc, gk = k0 + 2 * kp;
                long at0 = gc < n && gk < depth ? ops.IndexB(batch, gk, gc) : -1;
                long at1 = gc < n && gk + 1 < depth ? ops.IndexB(batch, gk + 1, gc) : -1;
                tileB[cc * Stride + kp] = FragmentLoads.Pair(b, at0, at1);
            }
            Group.Barrier();
            for (int ks = 0; ks < Words; ks += 8)
            {
                acc.Multiply<T, E>(
                    FragmentLoads.A(tileA, Stride, warpRow, ks, g, t), FragmentLoads.A(tileA, Stride, warpRow + 16, ks, g, t),
                    FragmentLoads.B(tileB, Stride, warpColumn, ks, g, t), FragmentLoads.B(tileB, Stride, warpColumn + 8, ks, g, t),
                    FragmentLoads.B(tileB, Stride, warpColumn + 16, ks, g, t), FragmentLoads.B(tileB, Stride, warpColumn + 24, ks, g, t), scratch);
            }
            Group.Barrier();
        }

        var e = default(E);
        float alpha = ops.Alpha, beta = ops.Beta;
        for (int i = 0; i < 2; i++)
        {
            for (int j = 0; j < 4; j++)
            {
                MmaC tile = acc.Get(i, j);
                for (int v = 0; v < 4; v++)
                {
                    int gr = row0 + warpRow + i * 16 + g + (v >> 1) * 8;
                    int gc = column0 + warpColumn + j * 8 + 2 * t + (v & 1);
                    if (gr < m && gc < n)
                    {
                        long at = ops.IndexC(batch, gr, gc);
                        float value = alpha * tile.Get(v);
                        if (beta != 0f)
                        {
                            value += beta * e.Load(c[at]);
                        }
                        long biasAt = ops.IndexBias(gr, gc);
                        if (biasAt >= 0)
                        {
                            value += e.Load(bias[biasAt]);
                        }
                        c[at] = e.Store(value);
                    }
                }
            }
        }
    }
}
