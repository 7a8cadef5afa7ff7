using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace Dsoup.Kernels.Gpu.TensorCores;

/// <summary>
/// The m16n8k16 MMA done by the warp in f32 arithmetic, for accelerators without tensor cores (the CPU
/// simulator, whose warp is 32 wide like a GPU's). Each lane publishes the fragment registers of a batch of
/// MMAs in its record of a per-warp scratch; after a warp barrier, each MMA is computed by every lane from the
/// records of the lanes the PTX layout says hold the rows of A and the columns of B its four outputs need. So it
/// checks the fragment layouts the kernels rely on: a fragment loaded into the wrong register gives a wrong
/// product here as it would on the tensor core. Batching matters on the CPU, where a barrier is an OS-level wait:
/// a batch costs two, whatever its size. The scratch is the launch's dynamic shared memory, fetched once per
/// kernel (<see cref="View"/>) and passed down: ILGPU's CPU runtime hands out a new block at every call of
/// <c>GetDynamic</c>. On CUDA every method here is a no-op or dead code, and the scratch is empty.
/// </summary>
internal static class MmaEmulation
{
    /// <summary>Words of one lane's record: an A fragment and up to 20 B fragments (a 160-channel head's output tiles).</summary>
    public const int RecordWords = 4 + 2 * 20;

    /// <summary>Dynamic shared memory a launch must request where the MMA is emulated (none on CUDA).</summary>
    public static SharedMemoryConfig Scratch(int threads, bool emulated) =>
        emulated ? SharedMemoryConfig.RequestDynamic<uint>(threads * RecordWords) : SharedMemoryConfig.Empty;

    /// <summary>The launch's scratch: call once, at the top of a kernel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ArrayView<uint> View() => SharedMemory.GetDynamic<uint>();

    /// <summary>Puts an A fragment at word <paramref name="word"/> of this lane's record.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Publish(ArrayView<uint> scratch, MmaA a, int word)
    {
        if (CudaAsm.IsSupported)
        {
            return;
        }
        int at = Record(Warp.LaneIdx) + word;
        scratch[at] = a.R0;
        scratch[at + 1] = a.R1;
        scratch[at + 2] = a.R2;
        scratch[at + 3] = a.R3;
    }

    /// <summary>Puts a B fragment at word <paramref name="word"/> of this lane's record.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Publish(ArrayView<uint> scratch, MmaB b, int word)
    {
        if (CudaAsm.IsSupported)
        {
            return;
        }
        int at = Record(Warp.LaneIdx) + word;
        scratch[at] = b.R0;
        scratch[at + 1] = b.R1;
    }

    /// <summary>The warp barrier between publishing a batch and computing it, and between computing it and the next batch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Exchange()
    {
        if (!CudaAsm.IsSupported)
        {
            Warp.Barrier();
        }
    }

    /// <summary>D = A·B + C from the fragments every lane published at <paramref name="aWord"/> and <paramref name="bWord"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static MmaC Product<T, E>(ArrayView<uint> scratch, int aWord, int bWord, MmaC c)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T>
    {
        int lane = Warp.LaneIdx;
        int g = lane >> 2, t = lane & 3;
        for (int s = 0; s < 4; s++)
        {
            // Lane 4g+s holds k 2s, 2s+1 (and +8) of rows g and g+8; lanes 8t+s and 8t+4+s hold those k of columns 2t and 2t+1.
            int rows = Record(4 * g + s) + aWord;
            int column0 = Record(8 * t + s) + bWord, column1 = Record(8 * t + 4 + s) + bWord;
            c.C0 += Dot<T, E>(scratch[rows], scratch[column0]) + Dot<T, E>(scratch[rows + 2], scratch[column0 + 1]);
            c.C1 += Dot<T, E>(scratch[rows], scratch[column1]) + Dot<T, E>(scratch[rows + 2], scratch[column1 + 1]);
            c.C2 += Dot<T, E>(scratch[rows + 1], scratch[column0]) + Dot<T, E>(scratch[rows + 3], scratch[column0 + 1]);
            c.C3 += Dot<T, E>(scratch[rows + 1], scratch[column1]) + Dot<T, E>(scratch[rows + 3], scratch[column1 + 1]);
        }
        return c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Record(int lane) => (Warp.WarpIdx * Warp.WarpSize + lane) * RecordWords;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot<T, E>(uint x, uint y)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T>
    {
        var e = default(E);
        return e.FromBits(x) * e.FromBits(y) + e.FromBits(x >> 16) * e.FromBits(y >> 16);
    }
}
