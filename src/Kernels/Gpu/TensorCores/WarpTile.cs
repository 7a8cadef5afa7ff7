using System.Runtime.CompilerServices;
using ILGPU;

namespace Dsoup.Kernels.Gpu.TensorCores;

/// <summary>
/// One warp's 32×32 block of f32 accumulators: 2 tiles of 16 rows by 4 tiles of 8 columns. Named fields,
/// not an array, so they stay in registers (ILGPU does not unroll loops, and an indexed local array
/// would live in local memory).
/// </summary>
public struct WarpTile
{
    public const int Rows = 32;
    public const int Columns = 32;

    public MmaC T00, T01, T02, T03, T10, T11, T12, T13;

    /// <summary>Accumulates A·B over one 16-deep slice: A rows 0–15 and 16–31, B columns in four groups of 8 (one emulation batch).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Multiply<T, E>(MmaA a0, MmaA a1, MmaB b0, MmaB b1, MmaB b2, MmaB b3, ArrayView<uint> scratch)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T>
    {
        var e = default(E);
        MmaEmulation.Publish(scratch, a0, 0);
        MmaEmulation.Publish(scratch, a1, 4);
        MmaEmulation.Publish(scratch, b0, 8);
        MmaEmulation.Publish(scratch, b1, 10);
        MmaEmulation.Publish(scratch, b2, 12);
        MmaEmulation.Publish(scratch, b3, 14);
        MmaEmulation.Exchange();
        T00 = e.Mma(a0, 0, b0, 8, T00, scratch);
        T01 = e.Mma(a0, 0, b1, 10, T01, scratch);
        T02 = e.Mma(a0, 0, b2, 12, T02, scratch);
        T03 = e.Mma(a0, 0, b3, 14, T03, scratch);
        T10 = e.Mma(a1, 4, b0, 8, T10, scratch);
        T11 = e.Mma(a1, 4, b1, 10, T11, scratch);
        T12 = e.Mma(a1, 4, b2, 12, T12, scratch);
        T13 = e.Mma(a1, 4, b3, 14, T13, scratch);
        MmaEmulation.Exchange();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly MmaC Get(int row, int column) => (row * 4 + column) switch
    {
        0 => T00,
        1 => T01,
        2 => T02,
        3 => T03,
        4 => T10,
        5 => T11,
        6 => T12,
        _ => T13,
    };
}
