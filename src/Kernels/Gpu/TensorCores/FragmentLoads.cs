using System.Runtime.CompilerServices;
using ILGPU;

namespace Dsoup.Kernels.Gpu.TensorCores;

/// <summary>
/// Fragment loads from shared tiles that hold pairs of consecutive k packed in 32-bit words, one row (of A)
/// or one column (of B) per <paramref name="stride"/> words. A stride of 4 mod 8 words puts the eight rows a
/// load touches in distinct banks.
/// </summary>
internal static class FragmentLoads
{
    /// <summary>The A fragment of rows <paramref name="row"/>..+15, k words <paramref name="word"/>..+7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static MmaA A(ArrayView<uint> tile, int stride, int row, int word, int g, int t)
    {
        int top = (row + g) * stride + word + t, bottom = top + 8 * stride;
        return new MmaA { R0 = tile[top], R1 = tile[bottom], R2 = tile[top + 4], R3 = tile[bottom + 4] };
    }

    /// <summary>The B fragment of columns <paramref name="column"/>..+7, k words <paramref name="word"/>..+7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static MmaB B(ArrayView<uint> tile, int stride, int column, int word, int g, int t)
    {
        int at = (column + g) * stride + word + t;
        return new MmaB { R0 = tile[at], R1 = tile[at + 4] };
    }

    /// <summary>Two 16-bit patterns packed low-first into one word; an index of −1 stands for zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Pair(ArrayView<ushort> source, long at0, long at1)
    {
        uint low = at0 >= 0 ? source[at0] : 0u;
        uint high = at1 >= 0 ? source[at1] : 0u;
        return low | (high << 16);
    }
}
