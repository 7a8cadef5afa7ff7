using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Dsoup.Kernels.Gpu;

/// <summary>
/// The op set on an ILGPU accelerator (CUDA, OpenCL, or the CPU simulator used in tests).
/// Ops are queued on the accelerator's default stream; allocations come from a pool.
/// Calls are serialised, and the accelerator is bound to whichever thread makes them.
/// </summary>
public sealed partial class IlgpuBackend : IBackend
{
    /// <summary>Threads per group that every dsoup kernel launch uses.</summary>
    public const int GroupSize = 256;

    private readonly IlgpuBufferPool pool;
    private readonly IIlgpuTypedOps[] typedOps;
    private readonly IIlgpuNeuralOps[] neuralOps;
    private readonly IIlgpuMatrixOps?[] tensorCoreOps;
    private readonly Lock gate = new();

    [ThreadStatic]
    private static Accelerator? boundOnThisThread;

    public IlgpuBackend(Accelerator accelerator, string name)
    {
        if (accelerator.MaxNumThreadsPerGroup < GroupSize)
        {
            throw new NotSupportedException(
                $"{accelerator.Name} runs at most {accelerator.MaxNumThreadsPerGroup} threads per group; dsoup's kernels need {GroupSize}");
        }
        Accelerator = accelerator;
        Name = name;
        pool = new IlgpuBufferPool(accelerator);
        typedOps =
        [
            new IlgpuTypedOps<float, F32Element>(this),
            new IlgpuTypedOps<ILGPU.Half, F16Element>(this),
            new IlgpuTypedOps<ushort, BF16Element>(this),
        ];
        neuralOps =
        [
            new IlgpuNeuralOps<float, F32Element>(this),
            new IlgpuNeuralOps<ILGPU.Half, F16Element>(this),
            new IlgpuNeuralOps<ushort, BF16Element>(this),
        ];
        tensorCoreOps =
        [
            null,
            new IlgpuTensorCoreOps<ILGPU.Half, F16Element>(this, neuralOps[1]),
            new IlgpuTensorCoreOps<ushort, BF16Element>(this, neuralOps[2]),
        ];
        TensorCores = HasTensorCores(accelerator) && Environment.GetEnvironmentVariable("DSOUP_TENSOR_CORES") != "0";
        MaxGroups = Math.Max(1, accelerator.NumMultiprocessors * Math.Max(1, accelerator.MaxNumThreadsPerMultiprocessor / GroupSize) * 4);
    }

    public Accelerator Accelerator { get; }

    public string Name { get; }

    public string Description =>
        $"{Accelerator.Name} ({Accelerator.AcceleratorType}, {Accelerator.NumMultiprocessors} multiprocessors, " +
        $"{Accelerator.MemorySize / (1L << 20)} MiB, warp {Accelerator.WarpSize})";

    /// <summary>
    /// Whether f16 and bf16 matrix products run on the tensor-core kernels (<c>mma.sync</c>). On by default on
    /// CUDA devices of compute capability 8.0 or newer, and on the CPU simulator, which emulates the instruction
    /// so that the same kernels are tested without a GPU. <c>DSOUP_TENSOR_CORES=0</c> turns it off for the process (the
    /// CUDA-core kernels then run everything); settable, so benchmarks can compare the two paths.
    /// </summary>
    public bool TensorCores { get; set; }

    /// <summary>Whether this accelerator can run the tensor-core kernels at all (see <see cref="TensorCores"/>).</summary>
    public static bool HasTensorCores(Accelerator accelerator) => accelerator switch
    {
        CudaAccelerator cuda => cuda.Architecture is { Major: >= 8 },
        _ => accelerator.AcceleratorType == AcceleratorType.CPU && accelerator.WarpSize == 32,
    };

    /// <summary>Groups in a grid-stride launch: enough to fill the device a few times over.</summary>
    internal int MaxGroups { get; }

    /// <summary>Bytes of freed device memory the pool keeps for reuse.</summary>
    public long PooledBytes => pool.CachedBytes;

    public long PeakDeviceBytes => pool.PeakHeldBytes;

    internal IIlgpuTypedOps Ops(DType dtype) => typedOps[(int)dtype];

    /// <summary>The matrix products of <paramref name="dtype"/>: on tensor cores where <see cref="TensorCores"/> allows, else on CUDA cores.</summary>
    private IIlgpuMatrixOps Matrix(DType dtype) => (TensorCores ? tensorCoreOps[(int)dtype] : null) ?? neuralOps[(int)dtype];

    internal KernelConfig Streaming(long count) =>
        new((int)Math.Clamp((count + GroupSize - 1) / GroupSize, 1, MaxGroups), GroupSize);

    internal ArrayView<T> View<T>(BufferView view, long count, string what)
        where T : unmanaged
    {
        if (view.Buffer is not IlgpuBuffer buffer || !ReferenceEquals(buffer.Backend, this))
        {
            throw new ArgumentException($"{what}: the buffer lives on '{view.Buffer.Backend.Name}', not on '{Name}'; move the tensor first");
        }
        long bytes = count * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        view.EnsureSpan(bytes, what);
        return buffer.Memory.View.AsContiguous().SubView(view.ByteOffset, bytes).Cast<T>();
    }

    public DeviceBuffer Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        lock (gate)
        {
            Bind();
            return new IlgpuBuffer(this, pool, pool.Rent(bytes), bytes);
        }
    }

    public unsafe void Upload(ReadOnlySpan<byte> source, BufferView destination)
    {
        if (source.IsEmpty)
        {
            return;
        }
        lock (gate)
        {
            Bind();
            // ILGPU's ref overloads take a pinned address: unpinned, a GC during the copy moves the array
            // and the copy reads freed memory (seen as rare NaNs on the CPU accelerator under load).
            fixed (byte* pinned = source)
            {
                View<byte>(destination, source.Length, "upload destination").CopyFromCPU(ref *pinned, source.Length);
            }
        }
    }

    public unsafe void Download(BufferView source, Span<byte> destination)
    {
        if (destination.IsEmpty)
        {
            return;
        }
        lock (gate)
        {
            Bind();
            fixed (byte* pinned = destination)
            {
                View<byte>(source, destination.Length, "download source").CopyToCPU(ref *pinned, destination.Length);
            }
        }
    }

    public void Copy(BufferView source, BufferView destination, long bytes)
    {
        if (bytes == 0)
        {
            return;
        }
        lock (gate)
        {
            Bind();
            View<byte>(source, bytes, "copy source").CopyTo(View<byte>(destination, bytes, "copy destination"));
        }
    }

    public void Fill(DType dtype, BufferView destination, long count, float value) =>
        Run(() => Ops(dtype).Fill(destination, count, value));

    public void Binary(BinaryOp op, DType dtype, BufferView left, BufferView right, BufferView result, long count) =>
        Run(() => Ops(dtype).Binary(op, left, right, result, count));

    public void Scale(DType dtype, float alpha, BufferView x, BufferView result, long count) =>
        Run(() => Ops(dtype).Scale(alpha, x, result, count));

    public void Axpy(DType dtype, float alpha, BufferView x, BufferView y, BufferView result, long count) =>
        Run(() => Ops(dtype).Axpy(alpha, x, y, result, count));

    public void Convert(DType sourceType, BufferView source, DType resultType, BufferView result, long count) =>
        Run(() => Ops(sourceType).ConvertTo(resultType, source, result, count));

    public void SumAxis(DType dtype, BufferView source, BufferView result, ReduceShape shape, float scale) =>
        Run(() => Ops(dtype).SumAxis(source, result, shape, scale));

    public void BroadcastAxis(DType dtype, BufferView source, BufferView result, ReduceShape shape, float scale) =>
        Run(() => Ops(dtype).BroadcastAxis(source, result, shape, scale));

    public void Gemm(in GemmProblem problem)
    {
        problem.Validate();
        if (problem.Batch == 0 || problem.M == 0 || problem.N == 0)
        {
            return;
        }
        GemmProblem p = problem;
        Run(() => Matrix(p.DType).Gemm(p));
    }

    public void FillUniform(DType dtype, BufferView destination, long count, ulong seed, ulong offset) =>
        Run(() => Ops(dtype).Uniform(destination, count, seed, offset));

    public void Synchronize() => Run(Accelerator.Synchronize);

    /// <summary>Returns every cached allocation to the driver.</summary>
    public void TrimPool() => Run(pool.Trim);

    public void Dispose()
    {
        lock (gate)
        {
            Bind();
            Accelerator.Synchronize();
            pool.Dispose();
            Accelerator.Dispose();
        }
    }

    /// <summary>Runs <paramref name="op"/> with the accelerator bound to this thread, serialised with every other call.</summary>
    internal void Run(Action op)
    {
        lock (gate)
        {
            Bind();
            op();
        }
    }

    private void Bind()
    {
        if (!ReferenceEquals(boundOnThisThread, Accelerator))
        {
            Accelerator.Bind();
            boundOnThisThread = Accelerator;
        }
    }
}
