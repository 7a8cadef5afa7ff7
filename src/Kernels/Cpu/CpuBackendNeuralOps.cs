using Dsoup.Kernels.Cpu.Nn;
using Dsoup.Kernels.Nn;

namespace Dsoup.Kernels.Cpu;

/// <summary>The neural-network ops of the CPU backend: address checks, then the Nn/ implementations.</summary>
public sealed unsafe partial class CpuBackend
{
    public void Activate(Activation kind, DType dtype, BufferView x, BufferView result, long count)
    {
        long bytes = count * dtype.Size();
        CpuActivations.Forward(kind, dtype, CpuMemory.Address(x, bytes, $"{kind} input"), CpuMemory.Address(result, bytes, $"{kind} result"), count);
    }

    public void ActivateBackward(Activation kind, DType dtype, BufferView x, BufferView gradOutput, BufferView gradInput, long count)
    {
        long bytes = count * dtype.Size();
        CpuActivations.Backward(kind, dtype, CpuMemory.Address(x, bytes, $"{kind} input"),
            CpuMemory.Address(gradOutput, bytes, $"{kind} output gradient"), CpuMemory.Address(gradInput, bytes, $"{kind} input gradient"), count);
    }

    public void Softmax(DType dtype, BufferView x, BufferView result, SoftmaxShape shape)
    {
        long bytes = shape.Count * dtype.Size();
        CpuSoftmax.Forward(dtype, CpuMemory.Address(x, bytes, "softmax input"), CpuMemory.Address(result, bytes, "softmax result"), shape);
    }

    public void SoftmaxBackward(DType dtype, BufferView y, BufferView gradOutput, BufferView gradInput, SoftmaxShape shape)
    {
        long bytes = shape.Count * dtype.Size();
        CpuSoftmax.Backward(dtype, CpuMemory.Address(y, bytes, "softmax output"),
            CpuMemory.Address(gradOutput, bytes, "softmax output gradient"), CpuMemory.Address(gradInput, bytes, "softmax input gradient"), shape);
    }

    public void Attention(DType dtype, BufferView q, BufferView k, BufferView v, BufferView result, BufferView logSumExp, AttentionShape shape)
    {
        long queryBytes = shape.QueryCount * dtype.Size(), keyBytes = shape.KeyCount * dtype.Size();
        CpuAttention.Forward(dtype, CpuMemory.Address(q, queryBytes, "attention query"), CpuMemory.Address(k, keyBytes, "attention key"),
            CpuMemory.Address(v, keyBytes, "attention value"), CpuMemory.Address(result, queryBytes, "attention result"),
            CpuMemory.Address(logSumExp, shape.Rows * 4, "attention log-sum-exp"), shape, gemmKernel);
    }

    public void AttentionBackward(DType dtype, BufferView q, BufferView k, BufferView v, BufferView result, BufferView logSumExp,
        BufferView gradResult, BufferView gradQ, BufferView gradK, BufferView gradV, BufferView rowDots, AttentionShape shape)
    {
        long queryBytes = shape.QueryCount * dtype.Size(), keyBytes = shape.KeyCount * dtype.Size();
        CpuAttention.Backward(dtype, CpuMemory.Address(q, queryBytes, "attention query"), CpuMemory.Address(k, keyBytes, "attention key"),
            CpuMemory.Address(v, keyBytes, "attention value"), CpuMemory.Address(result, queryBytes, "attention result"),
            CpuMemory.Address(logSumExp, shape.Rows * 4, "attention log-sum-exp"),
            CpuMemory.Address(gradResult, queryBytes, "attention result gradient"), CpuMemory.Address(gradQ, queryBytes, "attention query gradient"),
            CpuMemory.Address(gradK, keyBytes, "attention key gradient"), CpuMemory.Address(gradV, keyBytes, "attention value gradient"),
            CpuMemory.Address(rowDots, shape.Rows * 4, "attention row dots"), shape, gemmKernel);
    }

    public void Normalize(DType dtype, BufferView x, BufferView weight, BufferView bias, BufferView y,
        BufferView mean, BufferView rstd, NormShape shape, float eps)
    {
        long bytes = shape.Count * dtype.Size(), parameterBytes = shape.Channels * dtype.Size();
        CpuNormalization.Forward(dtype, CpuMemory.Address(x, bytes, "norm input"),
            CpuMemory.Address(weight, parameterBytes, "norm weight"), CpuMemory.Address(bias, parameterBytes, "norm bias"),
            CpuMemory.Address(y, bytes, "norm result"), CpuMemory.Address(mean, shape.Rows * 4, "norm mean"),
            CpuMemory.Address(rstd, shape.Rows * 4, "norm rstd"), shape, eps);
    }

    public void NormalizeBackward(DType dtype, BufferView x, BufferView weight, BufferView mean, BufferView rstd,
        BufferView gradOutput, BufferView gradInput, BufferView gradWeight, BufferView gradBias, NormShape shape)
    {
        long bytes = shape.Count * dtype.Size(), parameterBytes = shape.Channels * dtype.Size();
        CpuNormalization.Backward(dtype, CpuMemory.Address(x, bytes, "norm input"),
            CpuMemory.Address(weight, parameterBytes, "norm weight"), CpuMemory.Address(mean, shape.Rows * 4, "norm mean"),
            CpuMemory.Address(rstd, shape.Rows * 4, "norm rstd"), CpuMemory.Address(gradOutput, bytes, "norm output gradient"),
            CpuMemory.Address(gradInput, bytes, "norm input gradient"), CpuMemory.Address(gradWeight, parameterBytes, "norm weight gradient"),
            CpuMemory.Address(gradBias, parameterBytes, "norm bias gradient"), shape);
    }

    public void CopyAxis(DType dtype, BufferView source, BufferView destination, AxisCopy copy) =>
        CpuLayout.CopyAxis(dtype.Size(), CpuMemory.Address(source, copy.SourceCount * dtype.Size(), "axis copy source"),
            CpuMemory.Address(destination, copy.DestinationCount * dtype.Size(), "axis copy destination"), copy);

    public void SwapAxes(DType dtype, BufferView source, BufferView destination, AxisSwap swap) =>
        CpuLayout.SwapAxes(dtype.Size(), CpuMemory.Address(source, swap.Count * dtype.Size(), "axis swap source"),
            CpuMemory.Address(destination, swap.Count * dtype.Size(), "axis swap destination"), swap);

    public void Upsample(DType dtype, BufferView source, BufferView result, long planes, int height, int width, int factor)
    {
        long count = planes * height * width;
        CpuLayout.Upsample(dtype.Size(), CpuMemory.Address(source, count * dtype.Size(), "upsample input"),
            CpuMemory.Address(result, count * factor * factor * dtype.Size(), "upsample result"), planes, height, width, factor);
    }

    public void UpsampleBackward(DType dtype, BufferView gradOutput, BufferView gradInput, long planes, int height, int width, int factor)
    {
        long count = planes * height * width;
        CpuLayout.UpsampleBackward(dtype, CpuMemory.Address(gradOutput, count * factor * factor * dtype.Size(), "upsample output gradient"),
            CpuMemory.Address(gradInput, count * dtype.Size(), "upsample input gradient"), planes, height, width, factor);
    }

    public void Convolution(DType dtype, BufferView x, BufferView weight, BufferView? bias, BufferView y, ConvShape shape)
    {
        int size = dtype.Size();
        CpuConvolution.Forward(dtype, CpuMemory.Address(x, shape.InputCount * size, "convolution input"),
            CpuMemory.Address(weight, shape.WeightCount * size, "convolution weight"),
            bias is { } b ? CpuMemory.Address(b, (long)shape.OutChannels * size, "convolution bias") : 0,
            CpuMemory.Address(y, shape.OutputCount * size, "convolution result"), shape, gemmKernel);
    }

    public void ConvolutionBackward(DType dtype, BufferView x, BufferView weight, BufferView gradOutput,
        BufferView gradInput, BufferView gradWeight, ConvShape shape)
    {
        int size = dtype.Size();
        CpuConvolution.Backward(dtype, CpuMemory.Address(x, shape.InputCount * size, "convolution input"),
            CpuMemory.Address(weight, shape.WeightCount * size, "convolution weight"),
            CpuMemory.Address(gradOutput, shape.OutputCount * size, "convolution result gradient"),
            CpuMemory.Address(gradInput, shape.InputCount * size, "convolution input gradient"),
            CpuMemory.Address(gradWeight, shape.WeightCount * size, "convolution weight gradient"), shape, gemmKernel);
    }

    public void AdamW(DType gradType, BufferView parameters, BufferView gradients, BufferView moment1, BufferView moment2,
        BufferView state, long count, AdamWStep step) =>
        CpuAdamW.Step(gradType, CpuMemory.Address(parameters, count * 4, "AdamW parameters"),
            CpuMemory.Address(gradients, count * gradType.Size(), "AdamW gradients"),
            CpuMemory.Address(moment1, count * 4, "AdamW first moment"), CpuMemory.Address(moment2, count * 4, "AdamW second moment"),
            *StepState(state), count, step);

    public void PrepareAdamWStep(BufferView sumOfSquares, BufferView state, float maxNorm, float inverseLossScale, float beta1, float beta2)
    {
        float sum = *(float*)CpuMemory.Address(sumOfSquares, 4, "gradient sum of squares");
        AdamWStepState* s = StepState(state);
        *s = OptimizerMath.PrepareStep(*s, sum, maxNorm, inverseLossScale, beta1, beta2);
    }

    private static AdamWStepState* StepState(BufferView state) =>
        (AdamWStepState*)CpuMemory.Address(state, AdamWStepState.Count * sizeof(float), "AdamW step state");
}
