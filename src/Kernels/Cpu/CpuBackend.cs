using System.Numerics.Tensors;
using Dsoup.Kernels.Cpu.Gemm;

namespace Dsoup.Kernels.Cpu;

/// <summary>
/// The host backend: managed SIMD code (TensorPrimitives, Vector256/512 intrinsics) over unmanaged
/// memory, using every core. Ops run synchronously.
/// </summary>
public sealed unsafe partial class CpuBackend : IBackend
{
    private MicroKernel gemmKernel = MicroKernel.Best;

    public string Name => "cpu";

    public string Description =>
        $"{Environment.ProcessorCount} cores, managed SIMD (GEMM micro-kernel {gemmKernel.Name})";

    /// <summary>Names of the GEMM micro-kernels this CPU can run, fastest first.</summary>
    public static IReadOnlyList<string> GemmKernels => MicroKernel.Supported.Select(k => k.Name).ToList();

    /// <summary>Forces one micro-kernel (tests run every supported one); null restores the fastest.</summary>
    public void UseGemmKernel(string? name) =>
        gemmKernel = name is null
            ? MicroKernel.Best
            : MicroKernel.Supported.FirstOrDefault(k => k.Name == name)
              ?? throw new ArgumentException($"GEMM kernel '{name}' is not supported here; expected one of {string.Join(", ", GemmKernels)}");

    public DeviceBuffer Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        return new NativeBuffer(this, bytes);
    }

    public void Upload(ReadOnlySpan<byte> source, BufferView destination)
    {
        nint dst = CpuMemory.Address(destination, source.Length, "upload destination");
        source.CopyTo(new Span<byte>((void*)dst, source.Length));
    }

    public void Download(BufferView source, Span<byte> destination)
    {
        nint src = CpuMemory.Address(source, destination.Length, "download source");
        new ReadOnlySpan<byte>((void*)src, destination.Length).CopyTo(destination);
    }

    public void Copy(BufferView source, BufferView destination, long bytes)
    {
        nint src = CpuMemory.Address(source, bytes, "copy source");
        nint dst = CpuMemory.Address(destination, bytes, "copy destination");
        Buffer.MemoryCopy((void*)src, (void*)dst, bytes, bytes);
    }

    public void Fill(DType dtype, BufferView destination, long count, float value)
    {
        nint dst = CpuMemory.Address(destination, count * dtype.Size(), "fill destination");
        CpuElementwise.Unary(dtype, dst, dst, count, (_, r) => r.Fill(value));
    }

    public void Binary(BinaryOp op, DType dtype, BufferView left, BufferView right, BufferView result, long count)
    {
        long bytes = count * dtype.Size();
        CpuElementwise.Binary(dtype,
            CpuMemory.Address(left, bytes, $"{op} left operand"),
            CpuMemory.Address(right, bytes, $"{op} right operand"),
            CpuMemory.Address(result, bytes, $"{op} result"),
            count, CpuElementwise.For(op));
    }

    public void Scale(DType dtype, float alpha, BufferView x, BufferView result, long count)
    {
        long bytes = count * dtype.Size();
        CpuElementwise.Unary(dtype, CpuMemory.Address(x, bytes, "scale input"), CpuMemory.Address(result, bytes, "scale result"),
            count, (xs, rs) => TensorPrimitives.Multiply(xs, alpha, rs));
    }

    public void Axpy(DType dtype, float alpha, BufferView x, BufferView y, BufferView result, long count)
    {
        long bytes = count * dtype.Size();
        CpuElementwise.Binary(dtype,
            CpuMemory.Address(x, bytes, "axpy x"), CpuMemory.Address(y, bytes, "axpy y"),
            CpuMemory.Address(result, bytes, "axpy result"),
            count, (xs, ys, rs) => TensorPrimitives.MultiplyAdd(xs, alpha, ys, rs));
    }

    public void Convert(DType sourceType, BufferView source, DType resultType, BufferView result, long count)
    {
        nint src = CpuMemory.Address(source, count * sourceType.Size(), "convert source");
        nint dst = CpuMemory.Address(result, count * resultType.Size(), "convert result");
        if (sourceType == resultType)
        {
            Buffer.MemoryCopy((void*)src, (void*)dst, count * resultType.Size(), count * resultType.Size());
            return;
        }
        CpuParallel.For(count, CpuParallel.StreamingGrain, (start, end) =>
        {
            Span<float> block = stackalloc float[ElementBlocks.Size];
            for (long s = start; s < end; s += ElementBlocks.Size)
            {
                int n = (int)Math.Min(ElementBlocks.Size, end - s);
                ElementBlocks.Load(sourceType, src, s, block[..n]);
                ElementBlocks.Store(resultType, block[..n], dst, s);
            }
        });
    }

    public void SumAxis(DType dtype, BufferView source, BufferView result, ReduceShape shape, float scale) =>
        CpuReductions.SumAxis(dtype,
            CpuMemory.Address(source, shape.InputCount * dtype.Size(), "sum input"),
            CpuMemory.Address(result, shape.OutputCount * dtype.Size(), "sum result"),
            shape, scale);

    public void BroadcastAxis(DType dtype, BufferView source, BufferView result, ReduceShape shape, float scale) =>
        CpuReductions.BroadcastAxis(dtype,
            CpuMemory.Address(source, shape.OutputCount * dtype.Size(), "broadcast input"),
            CpuMemory.Address(result, shape.InputCount * dtype.Size(), "broadcast result"),
            shape, scale);

    public void Gemm(in GemmProblem problem) => CpuGemm.Run(problem, gemmKernel);

    public void FillUniform(DType dtype, BufferView destination, long count, ulong seed, ulong offset) =>
        CpuRandom.FillUniform(dtype, CpuMemory.Address(destination, count * dtype.Size(), "random destination"),
            count, seed, offset);

    public void Synchronize()
    {
    }

    public void Dispose()
    {
    }
}
