using System.Runtime.CompilerServices;
using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>Sizes, layouts and scalars of one batched dense GEMM (see <see cref="GemmProblem"/>), passed to the kernel by value.</summary>
public struct GemmShape : IGemmOperands
{
    public int Rows;
    public int Columns;
    public int Depth;
    public int TransposeA;
    public int TransposeB;
    public long BatchStrideA;
    public long BatchStrideB;
    public long BatchStrideC;
    public float Scale;
    public float Accumulate;

    public static GemmShape Of(in GemmProblem p) => new()
    {
        Rows = p.M, Columns = p.N, Depth = p.K,
        TransposeA = p.TransposeA ? 1 : 0, TransposeB = p.TransposeB ? 1 : 0,
        BatchStrideA = p.BatchStrideA, BatchStrideB = p.BatchStrideB, BatchStrideC = p.BatchStrideC,
        Scale = p.Alpha, Accumulate = p.Beta,
    };

    public readonly int M => Rows;

    public readonly int N => Columns;

    public readonly int K => Depth;

    public readonly bool AAlongK => TransposeA == 0;

    public readonly bool BAlongK => TransposeB != 0;

    public readonly float Alpha => Scale;

    public readonly float Beta => Accumulate;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly long IndexA(int batch, int row, int k) =>
        batch * BatchStrideA + (TransposeA != 0 ? (long)k * Rows + row : (long)row * Depth + k);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly long IndexB(int batch, int k, int column) =>
        batch * BatchStrideB + (TransposeB != 0 ? (long)column * Depth + k : (long)k * Columns + column);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly long IndexC(int batch, int row, int column) => batch * BatchStrideC + (long)row * Columns + column;

    public readonly long IndexBias(int row, int column) => -1;
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

/// <summary>Dense batched GEMM on the shared tiled body (<see cref="ImplicitGemm"/>).</summary>
public static class GemmKernels
{
    [GpuKernel]
    public static void Gemm<T, E>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, GemmShape s)
        where T : unmanaged
        where E : struct, IElement<T> =>
        ImplicitGemm.Run<T, E, GemmShape>(a, b, c, c, s);
}
