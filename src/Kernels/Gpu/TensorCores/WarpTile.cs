using System.Runtime.CompilerServices;

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

    /// <summary>Accumulates A·B over one 16-deep slice: A rows 0–15 and 16–31, B columns in four groups of 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Multiply<T, E>(MmaA a0, MmaA a1, MmaB b0, MmaB b1, MmaB b2, MmaB b3)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T>
    {
        var e = default(E);
        T00 = e.Mma(a0, b0, T00);
        T01 = e.Mma(a0, b1, T01);
        T02 = e.Mma(a0, b2, T02);
        T03 = e.Mma(a0, b3, T03);
        T10 = e.Mma(a1, b0, T10);
        T11 = e.Mma(a1, b1, T11);
        T12 = e.Mma(a1, b2, T12);
        T13 = e.Mma(a1, b3, T13);
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
