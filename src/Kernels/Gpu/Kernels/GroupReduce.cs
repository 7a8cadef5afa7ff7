using ILGPU;
using ILGPU.Algorithms;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>
/// Reductions across one thread group: warp shuffles, then the warps' results added by every thread
/// in warp order. No atomics, so the result is the same on every run. Every thread of the group must
/// call it (it holds barriers), with <see cref="Slots"/> floats of shared memory. Kernels that can also
/// give each thread a whole row pass <c>alone</c> (uniform across the launch): then the value is the total.
/// </summary>
internal static class GroupReduce
{
    /// <summary>Rows up to this length are handled one per thread (no barriers; the CPU accelerator pays dearly for them).</summary>
    public const long ShortRow = 256;

    /// <summary>Shared floats a reduction needs: one per warp, for any warp size ≥ 8 at 256 threads.</summary>
    public const int Slots = 32;

    internal static float Sum(float value, ArrayView<float> scratch, bool alone)
    {
        if (alone)
        {
            return value;
        }
        for (int offset = Warp.WarpSize / 2; offset > 0; offset /= 2)
        {
            value += Warp.ShuffleDown(value, offset);
        }
        if (Warp.IsFirstLane)
        {
            scratch[Warp.WarpIdx] = value;
        }
        Group.Barrier();
        float total = 0f;
        int warps = Group.DimX / Warp.WarpSize;
        for (int w = 0; w < warps; w++)
        {
            total += scratch[w];
        }
        Group.Barrier();
        return total;
    }

    internal static float Max(float value, ArrayView<float> scratch, bool alone)
    {
        if (alone)
        {
            return value;
        }
        for (int offset = Warp.WarpSize / 2; offset > 0; offset /= 2)
        {
            value = XMath.Max(value, Warp.ShuffleDown(value, offset));
        }
        if (Warp.IsFirstLane)
        {
            scratch[Warp.WarpIdx] = value;
        }
        Group.Barrier();
        float best = float.NegativeInfinity;
        int warps = Group.DimX / Warp.WarpSize;
        for (int w = 0; w < warps; w++)
        {
            best = XMath.Max(best, scratch[w]);
        }
        Group.Barrier();
        return best;
    }

    /// <summary>Where this thread starts among the items, the stride to the next, and its lane within an item.</summary>
    internal static (long First, long Step, int Lane, int Lanes) Items(bool alone) => alone
        ? (Grid.GlobalIndex.X, (long)Grid.DimX * Group.DimX, 0, 1)
        : (Grid.IdxX, Grid.DimX, Group.IdxX, Group.DimX);
}
