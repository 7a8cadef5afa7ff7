using System.Runtime.CompilerServices;
using ILGPU;

namespace Dsoup.Kernels.Gpu.TensorCores;

/// <summary>
/// The m16n8k16 MMA done by the warp in f32 arithmetic, for accelerators without tensor cores (the CPU
/// simulator, whose warp is 32 wide like a GPU's). Every lane puts its fragment registers in a per-warp
/// scratch, then gathers the rows of A and the columns of B its four outputs need from the lanes the PTX
/// layout says hold them, so it checks the fragment layouts the kernels rely on: a fragment loaded into the
/// wrong register gives a wrong product here as it would on the tensor core. A scratch costs two warp
/// barriers per MMA where shuffles would cost twelve (each one an OS-level barrier on the CPU).
/// </summary>
internal static class MmaEmulation
{
    /// <summary>Words of scratch per lane: A's four registers, then B's two.</summary>
    private const int LaneWords = 6;

    /// <summary>Dynamic shared memory a launch must request where the MMA is emulated (none on CUDA).</summary>
    public static SharedMemoryConfig Scratch(int threads, bool emulated) =>
        emulated ? SharedMemoryConfig.RequestDynamic<uint>(threads * LaneWords) : SharedMemoryConfig.Empty;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static MmaC Multiply<T, E>(MmaA a, MmaB b, MmaC c)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T>
    {
        var scratch = SharedMemory.GetDynamic<uint>();
        int lane = Warp.LaneIdx;
        int warpBase = Warp.WarpIdx * Warp.WarpSize * LaneWords;
        int mine = warpBase + lane * LaneWords;
        scratch[mine] = a.R0;
        scratch[mine + 1] = a.R1;
        scratch[mine + 2] = a.R2;
        scratch[mine + 3] = a.R3;
        scratch[mine + 4] = b.R0;
        scratch[mine + 5] = b.R1;
        Warp.Barrier();
        int g = lane >> 2, t = lane & 3;
        for (int s = 0; s < 4; s++)
        {
            // Lane 4g+s holds k 2s, 2s+1 (and +8) of rows g and g+8; lanes 8t+s and 8t+4+s hold those k of columns 2t and 2t+1.
            int rows = warpBase + (4 * g + s) * LaneWords;
            int column0 = warpBase + (8 * t + s) * LaneWords + 4, column1 = warpBase + (8 * t + 4 + s) * LaneWords + 4;
            c.C0 += Dot<T, E>(scratch[rows], scratch[column0]) + Dot<T, E>(scratch[rows + 2], scratch[column0 + 1]);
            c.C1 += Dot<T, E>(scratch[rows], scratch[column1]) + Dot<T, E>(scratch[rows + 2], scratch[column1 + 1]);
            c.C2 += Dot<T, E>(scratch[rows + 1], scratch[column0]) + Dot<T, E>(scratch[rows + 3], scratch[column0 + 1]);
            c.C3 += Dot<T, E>(scratch[rows + 1], scratch[column1]) + Dot<T, E>(scratch[rows + 3], scratch[column1 + 1]);
        }
        Warp.Barrier();
        return c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot<T, E>(uint x, uint y)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T>
    {
        var e = default(E);
        return e.FromBits(x) * e.FromBits(y) + e.FromBits(x >> 16) * e.FromBits(y >> 16);
    }
}
