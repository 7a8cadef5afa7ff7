using System.Runtime.CompilerServices;
using ILGPU;

namespace Dsoup.Kernels.Gpu.TensorCores;

/// <summary>
/// One warp's share of the 16×16 A operand of an m16n8k16 MMA, two 16-bit values per register, the lower
/// k in the low half. With g = lane / 4 and t = lane % 4 (PTX ISA, "matrix fragments for mma.m16n8k16"):
/// R0 holds row g, k 2t and 2t+1; R1 row g+8, the same k; R2 row g, k 2t+8 and 2t+9; R3 row g+8, those k.
/// </summary>
public struct MmaA
{
    public uint R0, R1, R2, R3;
}

/// <summary>One warp's share of the 16×8 B operand: column g, k 2t and 2t+1 in R0, k 2t+8 and 2t+9 in R1.</summary>
public struct MmaB
{
    public uint R0, R1;
}

/// <summary>One warp's share of the 16×8 f32 accumulator: row g, columns 2t and 2t+1 in C0 and C1; row g+8 in C2 and C3.</summary>
public struct MmaC
{
    public float C0, C1, C2, C3;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Get(int index) => index switch
    {
        0 => C0,
        1 => C1,
        2 => C2,
        _ => C3,
    };
}

/// <summary>
/// A 16-bit storage dtype tensor cores multiply with f32 accumulation (f16, bf16): D = A·B + C for one
/// m16n8k16 tile, issued as <c>mma.sync</c> on CUDA and emulated elsewhere. Kernels read the operands as raw
/// 16-bit patterns (ArrayView&lt;ushort&gt;) and pack them into registers untouched.
/// </summary>
public interface ITensorCoreElement<T> : IElement<T>
    where T : unmanaged
{
    /// <summary>The value of the low 16 bits of <paramref name="bits"/> as f32.</summary>
    float FromBits(uint bits);

    /// <summary>
    /// D = A·B + C. Where the MMA is emulated, the operands are read from the lanes' published records instead
    /// (<see cref="MmaEmulation"/>): <paramref name="aWord"/> and <paramref name="bWord"/> say where.
    /// </summary>
    MmaC Mma(MmaA a, int aWord, MmaB b, int bWord, MmaC c, ArrayView<uint> scratch);

    /// <summary>f32 rounded to nearest even as this dtype's 16-bit pattern (to feed a product back in as an operand).</summary>
    ushort ToBits(float value);
}
