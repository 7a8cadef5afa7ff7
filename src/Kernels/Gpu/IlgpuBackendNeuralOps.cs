using Dsoup.Kernels.Gpu.Kernels;
using Dsoup.Kernels.Nn;
using ILGPU;
using ILGPU.Runtime;

namespace Dsoup.Kernels.Gpu;

/// <summary>The neural-network ops of the ILGPU backend, dispatched to the kernels of the data's dtype.</summary>
public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, float, float, float, float>? prepareStep;

    private IIlgpuNeuralOps Neural(DType dtype) => neuralOps[(int)dtype];

    public void Activate(Activation kind, DType dtype, BufferView x, BufferView result, long count) =>
        Run(() => Neural(dtype).Activate(kind, x, result, count));

    public void ActivateBackward(Activation kind, DType dtype, BufferView x, BufferView gradOutput, BufferView gradInput, long count) =>
        Run(() => Neural(dtype).ActivateBackward(kind, x, gradOutput, gradInput, count));

    public void Softmax(DType dtype, BufferView x, BufferView result, SoftmaxShape shape) =>
        Run(() => Neural(dtype).Softmax(x, result, shape));

    public void SoftmaxBackward(DType dtype, BufferView y, BufferView gradOutput, BufferView gradInput, SoftmaxShape shape) =>
        Run(() => Neural(dtype).SoftmaxBackward(y, gradOutput, gradInput, shape));

    public void Attention(DType dtype, BufferView q, BufferView k, BufferView v, BufferView result, BufferView logSumExp, AttentionShape shape) =>
        Run(() => Matrix(dtype).Attention(q, k, v, result, logSumExp, Supported(shape)));

    public void AttentionBackward(DType dtype, BufferView q, BufferView k, BufferView v, BufferView result, BufferView logSumExp,
        BufferView gradResult, BufferView gradQ, BufferView gradK, BufferView gradV, BufferView rowDots, AttentionShape shape) =>
        Run(() => Matrix(dtype).AttentionBackward(q, k, v, result, logSumExp, gradResult, gradQ, gradK, gradV, rowDots, Supported(shape)));

    /// <summary>The fused kernels keep a head's row per thread in local memory, which bounds the head width.</summary>
    private static AttentionShape Supported(AttentionShape shape) => shape.HeadDim <= AttentionKernels.MaxHeadDim
        ? shape
        : throw new NotSupportedException(
            $"Attention: heads of {shape.HeadDim} channels are wider than the {AttentionKernels.MaxHeadDim} the fused GPU kernels hold");

    public void Normalize(DType dtype, BufferView x, BufferView weight, BufferView bias, BufferView y,
        BufferView mean, BufferView rstd, NormShape shape, float eps) =>
        Run(() => Neural(dtype).Normalize(x, weight, bias, y, mean, rstd, shape, eps));

    public void NormalizeBackward(DType dtype, BufferView x, BufferView weight, BufferView mean, BufferView rstd,
        BufferView gradOutput, BufferView gradInput, BufferView gradWeight, BufferView gradBias, NormShape shape) =>
        Run(() => Neural(dtype).NormalizeBackward(x, weight, mean, rstd, gradOutput, gradInput, gradWeight, gradBias, shape));

    public void CopyAxis(DType dtype, BufferView source, BufferView destination, AxisCopy copy) =>
        Run(() => Neural(dtype).CopyAxis(source, destination, copy));

    public void SwapAxes(DType dtype, BufferView source, BufferView destination, AxisSwap swap) =>
        Run(() => Neural(dtype).SwapAxes(source, destination, swap));

    public void Upsample(DType dtype, BufferView source, BufferView result, long planes, int height, int width, int factor) =>
        Run(() => Neural(dtype).Upsample(source, result, planes, height, width, factor));

    public void UpsampleBackward(DType dtype, BufferView gradOutput, BufferView gradInput, long planes, int height, int width, int factor) =>
        Run(() => Neural(dtype).UpsampleBackward(gradOutput, gradInput, planes, height, width, factor));

    public void Convolution(DType dtype, BufferView x, BufferView weight, BufferView? bias, BufferView y, ConvShape shape) =>
        Run(() => Matrix(dtype).Convolution(x, weight, bias, y, shape));

    public void ConvolutionBackward(DType dtype, BufferView x, BufferView weight, BufferView gradOutput,
        BufferView gradInput, BufferView gradWeight, ConvShape shape) =>
        Run(() => Matrix(dtype).ConvolutionBackward(x, weight, gradOutput, gradInput, gradWeight, shape));

    public void AdamW(DType gradType, BufferView parameters, BufferView gradients, BufferView moment1, BufferView moment2,
        BufferView state, long count, AdamWStep step) =>
        Run(() => Neural(gradType).AdamW(parameters, gradients, moment1, moment2, state, count, step));

    public void PrepareAdamWStep(BufferView sumOfSquares, BufferView state, float maxNorm, float inverseLossScale, float beta1, float beta2) =>
        Run(() =>
        {
            prepareStep ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, float, float, float, float>(OptimizerKernels.PrepareStep);
            prepareStep(new KernelConfig(1, GroupSize), View<float>(sumOfSquares, 1, "gradient sum of squares"),
                View<float>(state, AdamWStepState.Count, "AdamW step state"), maxNorm, inverseLossScale, beta1, beta2);
        });
}
