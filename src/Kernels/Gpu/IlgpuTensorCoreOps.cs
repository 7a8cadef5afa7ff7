using Dsoup.Kernels.Gpu.Kernels;
using Dsoup.Kernels.Gpu.TensorCores;
using Dsoup.Kernels.Nn;
using ILGPU;
using ILGPU.Runtime;

namespace Dsoup.Kernels.Gpu;

/// <summary>
/// The tensor-core kernels of one 16-bit dtype on one accelerator, loaded on first use: the matrix product, the
/// convolutions and fused attention (forward and backward), the ops that carry nearly all of a UNet's
/// multiply-adds, with the CUDA-core ops' contracts. Heads wider than the tensor-core attention takes go to
/// <paramref name="cudaCores"/>. Multiplied operands are passed to the kernels as raw 16-bit patterns.
/// </summary>
internal sealed class IlgpuTensorCoreOps<T, E>(IlgpuBackend backend, IIlgpuNeuralOps cudaCores) : IIlgpuMatrixOps
    where T : unmanaged
    where E : struct, ITensorCoreElement<T>
{
    private Action<KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<T>, GemmShape>? gemm;
    private Action<KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<T>, ArrayView<T>, ConvolutionOperands>? convolution;
    private Action<KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<T>, ConvolutionInputGradientOperands>? convolutionInput;
    private Action<KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<T>, ConvolutionWeightGradientOperands>? convolutionWeight;
    private Action<KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<T>, ArrayView<float>, AttentionShape>? attention;
    private Action<KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>, ArrayView<T>, AttentionShape>? attentionQuery;
    private Action<KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>, ArrayView<T>, ArrayView<T>, AttentionShape>? attentionKeyValue;

    private Accelerator Accelerator => backend.Accelerator;

    private bool Emulated => Accelerator is not ILGPU.Runtime.Cuda.CudaAccelerator;

    public void Gemm(in GemmProblem p)
    {
        gemm ??= Accelerator.LoadStreamKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<T>, GemmShape>(TensorCoreGemmKernels.Gemm<T, E>);
        gemm(Launch(p.M, p.N, p.Batch), Bits(p.A, p.SpanA, "GEMM operand A"), Bits(p.B, p.SpanB, "GEMM operand B"),
            backend.View<T>(p.C, p.SpanC, "GEMM result C"), GemmShape.Of(p));
    }

    public void Convolution(BufferView x, BufferView weight, BufferView? bias, BufferView y, ConvShape shape)
    {
        convolution ??= Accelerator.LoadStreamKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<T>, ArrayView<T>, ConvolutionOperands>(
            TensorCoreConvolutionKernels.Forward<T, E>);
        var result = backend.View<T>(y, shape.OutputCount, "convolution result");
        var ops = new ConvolutionOperands(shape, bias.HasValue);
        convolution(Launch(ops.M, ops.N, shape.Batch), Bits(x, shape.InputCount, "convolution input"),
            Bits(weight, shape.WeightCount, "convolution weight"),
            bias is { } b ? backend.View<T>(b, shape.OutChannels, "convolution bias") : result, result, ops);
    }

    public void ConvolutionBackward(BufferView x, BufferView weight, BufferView gradOutput, BufferView gradInput, BufferView gradWeight, ConvShape shape)
    {
        convolutionInput ??= Accelerator.LoadStreamKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<T>, ConvolutionInputGradientOperands>(
            TensorCoreConvolutionKernels.BackwardInput<T, E>);
        convolutionWeight ??= Accelerator.LoadStreamKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<T>, ConvolutionWeightGradientOperands>(
            TensorCoreConvolutionKernels.BackwardWeight<T, E>);
        var gradients = Bits(gradOutput, shape.OutputCount, "convolution result gradient");
        var inputOps = new ConvolutionInputGradientOperands(shape);
        convolutionInput(Launch(inputOps.M, inputOps.N, shape.Batch), Bits(weight, shape.WeightCount, "convolution weight"),
            gradients, backend.View<T>(gradInput, shape.InputCount, "convolution input gradient"), inputOps);
        var weightOps = new ConvolutionWeightGradientOperands(shape);
        convolutionWeight(Launch(weightOps.M, weightOps.N, 1), gradients, Bits(x, shape.InputCount, "convolution input"),
            backend.View<T>(gradWeight, shape.WeightCount, "convolution weight gradient"), weightOps);
    }

    public void Attention(BufferView q, BufferView k, BufferView v, BufferView result, BufferView logSumExp, AttentionShape shape)
    {
        if (shape.HeadDim > AttentionTiles.MaxHeadDim)
        {
            cudaCores.Attention(q, k, v, result, logSumExp, shape);
            return;
        }
        attention ??= Accelerator.LoadStreamKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<T>, ArrayView<float>, AttentionShape>(
            TensorCoreAttentionKernels.Forward<T, E>);
        attention(Groups(TensorCoreAttentionKernels.Items(shape), TensorCoreAttentionKernels.Threads), Bits(q, shape.QueryCount, "attention query"), Bits(k, shape.KeyCount, "attention key"),
            Bits(v, shape.KeyCount, "attention value"), backend.View<T>(result, shape.QueryCount, "attention result"),
            backend.View<float>(logSumExp, shape.Rows, "attention log-sum-exp"), shape);
    }

    public void AttentionBackward(BufferView q, BufferView k, BufferView v, BufferView result, BufferView logSumExp, BufferView gradResult,
        BufferView gradQ, BufferView gradK, BufferView gradV, BufferView rowDots, AttentionShape shape)
    {
        if (shape.HeadDim > AttentionTiles.MaxHeadDim)
        {
            cudaCores.AttentionBackward(q, k, v, result, logSumExp, gradResult, gradQ, gradK, gradV, rowDots, shape);
            return;
        }
        attentionQuery ??= Accelerator.LoadStreamKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>, ArrayView<T>, AttentionShape>(
            TensorCoreAttentionBackwardKernels.Query<T, E>);
        attentionKeyValue ??= Accelerator.LoadStreamKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>, ArrayView<T>, ArrayView<T>, AttentionShape>(
            TensorCoreAttentionBackwardKernels.KeyValue<T, E>);
        var queries = Bits(q, shape.QueryCount, "attention query");
        var keys = Bits(k, shape.KeyCount, "attention key");
        var values = Bits(v, shape.KeyCount, "attention value");
        var gradResults = Bits(gradResult, shape.QueryCount, "attention result gradient");
        var lse = backend.View<float>(logSumExp, shape.Rows, "attention log-sum-exp");
        var dots = backend.View<float>(rowDots, shape.Rows, "attention row dots");
        const int Threads = TensorCoreAttentionBackwardKernels.Threads;
        // The query kernel writes the row dots the key/value kernel reads: same stream, in this order.
        attentionQuery(Groups(TensorCoreAttentionBackwardKernels.Items(shape, shape.Queries), Threads), queries, keys, values,
            Bits(result, shape.QueryCount, "attention result"), gradResults, lse, dots, backend.View<T>(gradQ, shape.QueryCount, "attention query gradient"), shape);
        attentionKeyValue(Groups(TensorCoreAttentionBackwardKernels.Items(shape, shape.Keys), Threads), queries, keys, values, gradResults, lse, dots,
            backend.View<T>(gradK, shape.KeyCount, "attention key gradient"), backend.View<T>(gradV, shape.KeyCount, "attention value gradient"), shape);
    }

    /// <summary>A grid-stride launch of <paramref name="items"/> work items, capped at the device's fill, with the emulation's scratch where needed.</summary>
    private KernelConfig Groups(int items, int threads) =>
        new(Math.Clamp(items, 1, backend.MaxGroups), threads, MmaEmulation.Scratch(threads, Emulated));

    private KernelConfig Launch(int m, int n, int batch) => TensorCoreGemm.Launch(m, n, batch, Emulated);

    private ArrayView<ushort> Bits(BufferView view, long count, string what) => backend.View<ushort>(view, count, what);
}
