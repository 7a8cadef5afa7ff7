using Dsoup.Kernels.Gpu.Kernels;
using Dsoup.Kernels.Nn;
using ILGPU;
using ILGPU.Runtime;

namespace Dsoup.Kernels.Gpu;

/// <summary>The neural-network kernels of one dtype on one accelerator (see <see cref="INeuralOps"/>).</summary>
internal interface IIlgpuNeuralOps : IIlgpuMatrixOps
{
    void Activate(Activation kind, BufferView x, BufferView result, long count);

    void ActivateBackward(Activation kind, BufferView x, BufferView gradOutput, BufferView gradInput, long count);

    void Softmax(BufferView x, BufferView result, SoftmaxShape shape);

    void SoftmaxBackward(BufferView y, BufferView gradOutput, BufferView gradInput, SoftmaxShape shape);

    void Normalize(BufferView x, BufferView weight, BufferView bias, BufferView y, BufferView mean, BufferView rstd, NormShape shape, float eps);

    void NormalizeBackward(BufferView x, BufferView weight, BufferView mean, BufferView rstd, BufferView gradOutput,
        BufferView gradInput, BufferView gradWeight, BufferView gradBias, NormShape shape);

    void CopyAxis(BufferView source, BufferView destination, AxisCopy copy);

    void SwapAxes(BufferView source, BufferView destination, AxisSwap swap);

    void Upsample(BufferView source, BufferView result, long planes, int height, int width, int factor);

    void UpsampleBackward(BufferView gradOutput, BufferView gradInput, long planes, int height, int width, int factor);

    /// <summary>AdamW with gradients of this dtype.</summary>
    void AdamW(BufferView parameters, BufferView gradients, BufferView moment1, BufferView moment2, BufferView state, long count, AdamWStep step);
}

/// <summary>The neural-network kernels of one dtype on one accelerator, loaded on first use and kept.</summary>
internal sealed class IlgpuNeuralOps<T, E> : IIlgpuNeuralOps
    where T : unmanaged
    where E : struct, IElement<T>
{
    private readonly IlgpuBackend backend;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, long, int>? activate;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, long, int>? activateBackward;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, SoftmaxShape, int>? softmax;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, SoftmaxShape, int>? softmaxBackward;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<float>, AttentionShape>? attention;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<float>, ArrayView<float>, ArrayView<T>, AttentionShape>? attentionQuery;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<float>, ArrayView<float>, ArrayView<T>, ArrayView<T>, AttentionShape>? attentionKeyValue;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<float>, ArrayView<float>, NormShape, float, int>? normalize;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<float>, ArrayView<float>, ArrayView<T>, ArrayView<T>, NormShape, int>? normalizeInput;
    private Action<KernelConfig, ArrayView<T>, ArrayView<float>, ArrayView<float>, ArrayView<T>, ArrayView<T>, ArrayView<T>, NormShape, int>? normalizeParameters;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, AxisCopy>? copyAxis;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, AxisSwap>? swapAxes;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, long, int, int, int>? upsample;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, long, int, int, int>? upsampleBackward;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmShape>? gemm;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ConvolutionOperands>? convolution;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, ConvolutionInputGradientOperands>? convolutionInput;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, ConvolutionWeightGradientOperands>? convolutionWeight;
    private Action<KernelConfig, ArrayView<float>, ArrayView<T>, ArrayView<float>, ArrayView<float>, ArrayView<float>, long, AdamWStep>? adamW;

    public IlgpuNeuralOps(IlgpuBackend backend) => this.backend = backend;

    private Accelerator Accelerator => backend.Accelerator;

    private ArrayView<T> View(BufferView view, long count, string what) => backend.View<T>(view, count, what);

    private ArrayView<float> Floats(BufferView view, long count, string what) => backend.View<float>(view, count, what);

    /// <summary>
    /// The launch of a kernel over <paramref name="items"/> rows (or channels) of <paramref name="length"/> values:
    /// one thread per item for short ones (flag 1), else one group of <see cref="IlgpuBackend.GroupSize"/> threads
    /// per item, capped at the device's fill.
    /// </summary>
    private (KernelConfig Config, int PerThread) PerItem(long items, long length) => length <= GroupReduce.ShortRow
        ? (backend.Streaming(items), 1)
        : (new KernelConfig((int)Math.Clamp(items, 1, backend.MaxGroups), IlgpuBackend.GroupSize), 0);

    public void Activate(Activation kind, BufferView x, BufferView result, long count)
    {
        activate ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, long, int>(ActivationKernels.Activate<T, E>);
        activate(backend.Streaming(count), View(x, count, $"{kind} input"), View(result, count, $"{kind} result"), count, (int)kind);
    }

    public void ActivateBackward(Activation kind, BufferView x, BufferView gradOutput, BufferView gradInput, long count)
    {
        activateBackward ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, long, int>(ActivationKernels.ActivateBackward<T, E>);
        activateBackward(backend.Streaming(count), View(x, count, $"{kind} input"), View(gradOutput, count, $"{kind} output gradient"),
            View(gradInput, count, $"{kind} input gradient"), count, (int)kind);
    }

    public void Softmax(BufferView x, BufferView result, SoftmaxShape shape)
    {
        softmax ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, SoftmaxShape, int>(SoftmaxKernels.Softmax<T, E>);
        var (config, perThread) = PerItem(shape.Rows, shape.Columns);
        softmax(config, View(x, shape.Count, "softmax input"), View(result, shape.Count, "softmax result"), shape, perThread);
    }

    public void SoftmaxBackward(BufferView y, BufferView gradOutput, BufferView gradInput, SoftmaxShape shape)
    {
        softmaxBackward ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, SoftmaxShape, int>(SoftmaxKernels.SoftmaxBackward<T, E>);
        var (config, perThread) = PerItem(shape.Rows, shape.Columns);
        softmaxBackward(config, View(y, shape.Count, "softmax output"), View(gradOutput, shape.Count, "softmax output gradient"),
            View(gradInput, shape.Count, "softmax input gradient"), shape, perThread);
    }

    /// <summary>One group of <see cref="AttentionKernels.Threads"/> threads per block of rows of one head, capped at the device's fill.</summary>
    private KernelConfig AttentionGroups(AttentionShape shape, int rows)
    {
        long items = (long)shape.Batch * shape.Heads * ((rows + AttentionKernels.Threads - 1) / AttentionKernels.Threads);
        return new KernelConfig((int)Math.Clamp(items, 1, backend.MaxGroups), AttentionKernels.Threads);
    }

    public void Attention(BufferView q, BufferView k, BufferView v, BufferView result, BufferView logSumExp, AttentionShape shape)
    {
        attention ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<float>, AttentionShape>(
            AttentionKernels.Forward<T, E>);
        attention(AttentionGroups(shape, shape.Queries), View(q, shape.QueryCount, "attention query"), View(k, shape.KeyCount, "attention key"),
            View(v, shape.KeyCount, "attention value"), View(result, shape.QueryCount, "attention result"),
            Floats(logSumExp, shape.Rows, "attention log-sum-exp"), shape);
    }

    public void AttentionBackward(BufferView q, BufferView k, BufferView v, BufferView result, BufferView logSumExp, BufferView gradResult,
        BufferView gradQ, BufferView gradK, BufferView gradV, BufferView rowDots, AttentionShape shape)
    {
        attentionQuery ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<float>, ArrayView<float>, ArrayView<T>, AttentionShape>(
            AttentionKernels.BackwardQuery<T, E>);
        attentionKeyValue ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<float>, ArrayView<float>, ArrayView<T>, ArrayView<T>, AttentionShape>(
            AttentionKernels.BackwardKeyValue<T, E>);
        var queries = View(q, shape.QueryCount, "attention query");
        var keys = View(k, shape.KeyCount, "attention key");
        var values = View(v, shape.KeyCount, "attention value");
        var gradResults = View(gradResult, shape.QueryCount, "attention result gradient");
        var lse = Floats(logSumExp, shape.Rows, "attention log-sum-exp");
        var dots = Floats(rowDots, shape.Rows, "attention row dots");
        attentionQuery(AttentionGroups(shape, shape.Queries), queries, keys, values, View(result, shape.QueryCount, "attention result"),
            gradResults, lse, dots, View(gradQ, shape.QueryCount, "attention query gradient"), shape);
        attentionKeyValue(AttentionGroups(shape, shape.Keys), queries, keys, values, gradResults, lse, dots,
            View(gradK, shape.KeyCount, "attention key gradient"), View(gradV, shape.KeyCount, "attention value gradient"), shape);
    }

    public void Normalize(BufferView x, BufferView weight, BufferView bias, BufferView y, BufferView mean, BufferView rstd, NormShape shape, float eps)
    {
        normalize ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<float>, ArrayView<float>, NormShape, float, int>(
            NormKernels.Normalize<T, E>);
        var (config, perThread) = PerItem(shape.Rows, shape.RowLength);
        normalize(config, View(x, shape.Count, "norm input"), View(weight, shape.Channels, "norm weight"),
            View(bias, shape.Channels, "norm bias"), View(y, shape.Count, "norm result"),
            Floats(mean, shape.Rows, "norm mean"), Floats(rstd, shape.Rows, "norm rstd"), shape, eps, perThread);
    }

    public void NormalizeBackward(BufferView x, BufferView weight, BufferView mean, BufferView rstd, BufferView gradOutput,
        BufferView gradInput, BufferView gradWeight, BufferView gradBias, NormShape shape)
    {
        normalizeInput ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<float>, ArrayView<float>, ArrayView<T>, ArrayView<T>, NormShape, int>(
            NormKernels.NormalizeBackwardInput<T, E>);
        normalizeParameters ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<float>, ArrayView<float>, ArrayView<T>, ArrayView<T>, ArrayView<T>, NormShape, int>(
            NormKernels.NormalizeBackwardParameters<T, E>);
        var xs = View(x, shape.Count, "norm input");
        var means = Floats(mean, shape.Rows, "norm mean");
        var rstds = Floats(rstd, shape.Rows, "norm rstd");
        var g = View(gradOutput, shape.Count, "norm output gradient");
        var (rows, rowsPerThread) = PerItem(shape.Rows, shape.RowLength);
        normalizeInput(rows, xs, View(weight, shape.Channels, "norm weight"), means, rstds, g,
            View(gradInput, shape.Count, "norm input gradient"), shape, rowsPerThread);
        var (channels, channelsPerThread) = PerItem(shape.Channels, shape.Samples * shape.Spatial);
        normalizeParameters(channels, xs, means, rstds, g, View(gradWeight, shape.Channels, "norm weight gradient"),
            View(gradBias, shape.Channels, "norm bias gradient"), shape, channelsPerThread);
    }

    public void CopyAxis(BufferView source, BufferView destination, AxisCopy copy)
    {
        copyAxis ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, AxisCopy>(LayoutKernels.CopyAxis<T, E>);
        copyAxis(backend.Streaming(copy.CopiedCount), View(source, copy.SourceCount, "axis copy source"),
            View(destination, copy.DestinationCount, "axis copy destination"), copy);
    }

    public void SwapAxes(BufferView source, BufferView destination, AxisSwap swap)
    {
        swapAxes ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, AxisSwap>(LayoutKernels.SwapAxes<T, E>);
        swapAxes(backend.Streaming(swap.Count), View(source, swap.Count, "axis swap source"), View(destination, swap.Count, "axis swap destination"), swap);
    }

    public void Upsample(BufferView source, BufferView result, long planes, int height, int width, int factor)
    {
        upsample ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, long, int, int, int>(LayoutKernels.Upsample<T, E>);
        long count = planes * height * width;
        upsample(backend.Streaming(count * factor * factor), View(source, count, "upsample input"),
            View(result, count * factor * factor, "upsample result"), planes, height, width, factor);
    }

    public void UpsampleBackward(BufferView gradOutput, BufferView gradInput, long planes, int height, int width, int factor)
    {
        upsampleBackward ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, long, int, int, int>(LayoutKernels.UpsampleBackward<T, E>);
        long count = planes * height * width;
        upsampleBackward(backend.Streaming(count), View(gradOutput, count * factor * factor, "upsample output gradient"),
            View(gradInput, count, "upsample input gradient"), planes, height, width, factor);
    }

    public void Gemm(in GemmProblem p)
    {
        gemm ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmShape>(GemmKernels.Gemm<T, E>);
        gemm(ImplicitGemm.Launch(p.M, p.N, p.Batch), View(p.A, p.SpanA, "GEMM operand A"), View(p.B, p.SpanB, "GEMM operand B"),
            View(p.C, p.SpanC, "GEMM result C"), GemmShape.Of(p));
    }

    public void Convolution(BufferView x, BufferView weight, BufferView? bias, BufferView y, ConvShape shape)
    {
        convolution ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ConvolutionOperands>(
            ConvolutionKernels.Forward<T, E>);
        var result = View(y, shape.OutputCount, "convolution result");
        var ops = new ConvolutionOperands(shape, bias.HasValue);
        convolution(ImplicitGemm.Launch(ops.M, ops.N, shape.Batch), View(x, shape.InputCount, "convolution input"),
            View(weight, shape.WeightCount, "convolution weight"),
            bias is { } b ? View(b, shape.OutChannels, "convolution bias") : result, result, ops);
    }

    public void ConvolutionBackward(BufferView x, BufferView weight, BufferView gradOutput, BufferView gradInput, BufferView gradWeight, ConvShape shape)
    {
        convolutionInput ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ConvolutionInputGradientOperands>(
            ConvolutionKernels.BackwardInput<T, E>);
        convolutionWeight ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ConvolutionWeightGradientOperands>(
            ConvolutionKernels.BackwardWeight<T, E>);
        var weights = View(weight, shape.WeightCount, "convolution weight");
        var gradients = View(gradOutput, shape.OutputCount, "convolution result gradient");
        var inputOps = new ConvolutionInputGradientOperands(shape);
        convolutionInput(ImplicitGemm.Launch(inputOps.M, inputOps.N, shape.Batch), weights, gradients,
            View(gradInput, shape.InputCount, "convolution input gradient"), inputOps);
        var weightOps = new ConvolutionWeightGradientOperands(shape);
        convolutionWeight(ImplicitGemm.Launch(weightOps.M, weightOps.N, 1), gradients, View(x, shape.InputCount, "convolution input"),
            View(gradWeight, shape.WeightCount, "convolution weight gradient"), weightOps);
    }

    public void AdamW(BufferView parameters, BufferView gradients, BufferView moment1, BufferView moment2, BufferView state, long count, AdamWStep step)
    {
        adamW ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<T>, ArrayView<float>, ArrayView<float>, ArrayView<float>, long, AdamWStep>(
            OptimizerKernels.AdamW<T, E>);
        adamW(backend.Streaming(count), Floats(parameters, count, "AdamW parameters"), View(gradients, count, "AdamW gradients"),
            Floats(moment1, count, "AdamW first moment"), Floats(moment2, count, "AdamW second moment"),
            Floats(state, AdamWStepState.Count, "AdamW step state"), count, step);
    }
}
