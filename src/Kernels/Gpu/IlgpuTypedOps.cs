using Dsoup.Kernels.Gpu.Kernels;
using ILGPU;
using ILGPU.Runtime;

namespace Dsoup.Kernels.Gpu;

/// <summary>The ops of one dtype on one accelerator: kernels loaded once, on first use, and kept.</summary>
internal interface IIlgpuTypedOps
{
    void Fill(BufferView result, long count, float value);

    void Binary(BinaryOp op, BufferView left, BufferView right, BufferView result, long count);

    void Scale(float alpha, BufferView x, BufferView result, long count);

    void Axpy(float alpha, BufferView x, BufferView y, BufferView result, long count);

    /// <summary>Converts from this dtype into <paramref name="resultType"/>.</summary>
    void ConvertTo(DType resultType, BufferView source, BufferView result, long count);

    /// <summary>The second half of <see cref="ConvertTo"/>: converts into this dtype.</summary>
    void ConvertFrom<TS, ES>(ArrayView<TS> source, BufferView result, int count)
        where TS : unmanaged
        where ES : struct, IElement<TS>;

    void SumAxis(BufferView source, BufferView result, ReduceShape shape, float scale);

    void BroadcastAxis(BufferView source, BufferView result, ReduceShape shape, float scale);

    void Uniform(BufferView result, long count, ulong seed, ulong offset);
}

internal sealed class IlgpuTypedOps<T, E> : IIlgpuTypedOps
    where T : unmanaged
    where E : struct, IElement<T>
{
    /// <summary>Largest element count of one launch: kernel indices are 32-bit.</summary>
    private const long LaunchChunk = 1L << 30;

    private readonly IlgpuBackend backend;
    private readonly Dictionary<Type, Delegate> conversions = [];
    private Action<KernelConfig, ArrayView<T>, int, float>? fill;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int>? binary;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, int, float>? scale;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, float>? axpy;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, long, long, long, float>? sumPerThread;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, long, long, long, float>? sumPerGroup;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, long, long, long, float>? broadcast;
    private Action<KernelConfig, ArrayView<T>, int, ulong, ulong>? uniform;

    public IlgpuTypedOps(IlgpuBackend backend) => this.backend = backend;

    private Accelerator Accelerator => backend.Accelerator;

    private ArrayView<T> View(BufferView view, long count, string what) => backend.View<T>(view, count, what);

    public void Fill(BufferView result, long count, float value)
    {
        fill ??= Accelerator.LoadStreamKernel<ArrayView<T>, int, float>(ElementwiseKernels.Fill<T, E>);
        var r = View(result, count, "fill destination");
        ForChunks(count, (start, n) => fill(backend.Streaming(n), r.SubView(start, n), n, value));
    }

    public void Binary(BinaryOp op, BufferView left, BufferView right, BufferView result, long count)
    {
        binary ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int>(ElementwiseKernels.Binary<T, E>);
        var a = View(left, count, $"{op} left operand");
        var b = View(right, count, $"{op} right operand");
        var r = View(result, count, $"{op} result");
        ForChunks(count, (start, n) =>
            binary(backend.Streaming(n), a.SubView(start, n), b.SubView(start, n), r.SubView(start, n), n, (int)op));
    }

    public void Scale(float alpha, BufferView x, BufferView result, long count)
    {
        scale ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, int, float>(ElementwiseKernels.Scale<T, E>);
        var xs = View(x, count, "scale input");
        var r = View(result, count, "scale result");
        ForChunks(count, (start, n) => scale(backend.Streaming(n), xs.SubView(start, n), r.SubView(start, n), n, alpha));
    }

    public void Axpy(float alpha, BufferView x, BufferView y, BufferView result, long count)
    {
        axpy ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, int, float>(ElementwiseKernels.Axpy<T, E>);
        var xs = View(x, count, "axpy x");
        var ys = View(y, count, "axpy y");
        var r = View(result, count, "axpy result");
        ForChunks(count, (start, n) =>
            axpy(backend.Streaming(n), xs.SubView(start, n), ys.SubView(start, n), r.SubView(start, n), n, alpha));
    }

    public void ConvertTo(DType resultType, BufferView source, BufferView result, long count)
    {
        var s = View(source, count, "convert source");
        ForChunks(count, (start, n) =>
            backend.Ops(resultType).ConvertFrom<T, E>(s.SubView(start, n), result.Advance(start * resultType.Size()), n));
    }

    public void ConvertFrom<TS, ES>(ArrayView<TS> source, BufferView result, int count)
        where TS : unmanaged
        where ES : struct, IElement<TS>
    {
        if (!conversions.TryGetValue(typeof(TS), out Delegate? kernel))
        {
            kernel = Accelerator.LoadStreamKernel<ArrayView<TS>, ArrayView<T>, int>(ElementwiseKernels.Convert<TS, ES, T, E>);
            conversions[typeof(TS)] = kernel;
        }
        var convert = (Action<KernelConfig, ArrayView<TS>, ArrayView<T>, int>)kernel;
        convert(backend.Streaming(count), source, View(result, count, "convert result"), count);
    }

    public void SumAxis(BufferView source, BufferView result, ReduceShape shape, float scaleFactor)
    {
        var s = View(source, shape.InputCount, "sum input");
        var r = View(result, shape.OutputCount, "sum result");
        if (shape.Extent >= ReductionKernels.GroupSize)
        {
            sumPerGroup ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, long, long, long, float>(
                ReductionKernels.SumAxisPerGroup<T, E>);
            var config = new KernelConfig((int)Math.Min(shape.OutputCount, backend.MaxGroups), ReductionKernels.GroupSize);
            sumPerGroup(config, s, r, shape.Outer, shape.Extent, shape.Inner, scaleFactor);
            return;
        }
        sumPerThread ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, long, long, long, float>(
            ReductionKernels.SumAxisPerThread<T, E>);
        sumPerThread(backend.Streaming(shape.OutputCount), s, r, shape.Outer, shape.Extent, shape.Inner, scaleFactor);
    }

    public void BroadcastAxis(BufferView source, BufferView result, ReduceShape shape, float scaleFactor)
    {
        broadcast ??= Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, long, long, long, float>(
            ReductionKernels.BroadcastAxis<T, E>);
        var s = View(source, shape.OutputCount, "broadcast input");
        var r = View(result, shape.InputCount, "broadcast result");
        broadcast(backend.Streaming(shape.InputCount), s, r, shape.Outer, shape.Extent, shape.Inner, scaleFactor);
    }

    public void Uniform(BufferView result, long count, ulong seed, ulong offset)
    {
        uniform ??= Accelerator.LoadStreamKernel<ArrayView<T>, int, ulong, ulong>(RandomKernels.Uniform<T, E>);
        var r = View(result, count, "random destination");
        ForChunks(count, (start, n) => uniform(backend.Streaming(n), r.SubView(start, n), n, seed, offset + (ulong)start));
    }

    private static void ForChunks(long count, Action<long, int> launch)
    {
        for (long start = 0; start < count; start += LaunchChunk)
        {
            launch(start, (int)Math.Min(LaunchChunk, count - start));
        }
    }
}
