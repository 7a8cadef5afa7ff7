using Dsoup.Kernels.Gpu.TensorCores;
using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>
/// Convolution forward and backward as implicit GEMMs on tensor cores: the operand sets of
/// <see cref="ConvolutionKernels"/> on the <see cref="TensorCoreGemm"/> body. Multiplied operands come as raw
/// 16-bit patterns, the result (and bias) in the dtype.
/// </summary>
public static class TensorCoreConvolutionKernels
{
    [GpuKernel]
    public static void Forward<T, E>(ArrayView<ushort> x, ArrayView<ushort> weight, ArrayView<T> bias, ArrayView<T> y, ConvolutionOperands ops)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T> =>
        TensorCoreGemm.Run<T, E, ConvolutionOperands>(weight, x, y, bias, ops);

    [GpuKernel]
    public static void BackwardInput<T, E>(ArrayView<ushort> weight, ArrayView<ushort> gradOutput, ArrayView<T> gradInput, ConvolutionInputGradientOperands ops)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T> =>
        TensorCoreGemm.Run<T, E, ConvolutionInputGradientOperands>(weight, gradOutput, gradInput, gradInput, ops);

    [GpuKernel]
    public static void BackwardWeight<T, E>(ArrayView<ushort> gradOutput, ArrayView<ushort> x, ArrayView<T> gradWeight, ConvolutionWeightGradientOperands ops)
        where T : unmanaged
        where E : struct, ITensorCoreElement<T> =>
        TensorCoreGemm.Run<T, E, ConvolutionWeightGradientOperands>(gradOutput, x, gradWeight, gradWeight, ops);
}
