using Dsoup.Kernels.Gpu.TensorCores;
using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>
/// Dense batched GEMM of f16 or bf16 operands on tensor cores (<see cref="TensorCoreGemm"/>); A and B are
/// passed as their raw 16-bit patterns, C in its dtype.
/// </summary>
public static class TensorCoreGemmKernels
{
    [GpuKernel]
    public static void Gemm<T, E>(ArrayView<ushort> a, ArrayView<ushort> b, ArrayView<T> c, GemmShape s)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T> =>
        TensorCoreGemm.Run<T, E, GemmShape>(a, b, c, c, s);
}
