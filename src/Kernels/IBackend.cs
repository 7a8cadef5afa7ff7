namespace Dsoup.Kernels;

/// <summary>
/// The op set one device implements. Every op works on dense, contiguous data described by
/// <see cref="BufferView"/>s and element counts; shapes, autograd and lifetimes live in the Engine.
/// f16 and bf16 inputs are widened to f32 for arithmetic and the result is rounded to nearest even.
/// Ops may run asynchronously; <see cref="Download"/> and <see cref="Synchronize"/> wait for them.
/// </summary>
public interface IBackend : INeuralOps, IDisposable
{
    /// <summary>Short name as the user types it: cpu, cuda:0, opencl:0, ilgpu-cpu.</summary>
    string Name { get; }

    /// <summary>Human-readable description of the hardware.</summary>
    string Description { get; }

    /// <summary>
    /// The most device memory this backend has held at once since it started (in use plus cached for reuse);
    /// 0 where memory is the host's (the CPU backend).
    /// </summary>
    long PeakDeviceBytes => 0;

    /// <summary>Allocates uninitialised memory. Callers release it with <see cref="DeviceBuffer.Dispose"/>.</summary>
    DeviceBuffer Allocate(long bytes);

    void Upload(ReadOnlySpan<byte> source, BufferView destination);

    void Download(BufferView source, Span<byte> destination);

    void Copy(BufferView source, BufferView destination, long bytes);

    void Fill(DType dtype, BufferView destination, long count, float value);

    void Binary(BinaryOp op, DType dtype, BufferView left, BufferView right, BufferView result, long count);

    /// <summary>result = alpha · x.</summary>
    void Scale(DType dtype, float alpha, BufferView x, BufferView result, long count);

    /// <summary>result = alpha · x + y.</summary>
    void Axpy(DType dtype, float alpha, BufferView x, BufferView y, BufferView result, long count);

    /// <summary>Converts <paramref name="count"/> elements, rounding to nearest even; NaN stays NaN.</summary>
    void Convert(DType sourceType, BufferView source, DType resultType, BufferView result, long count);

    /// <summary>result[o, i] = scale · Σ_e source[o, e, i], accumulated in f32 in a fixed order.</summary>
    void SumAxis(DType dtype, BufferView source, BufferView result, ReduceShape shape, float scale);

    /// <summary>result[o, e, i] = scale · source[o, i] (the adjoint of <see cref="SumAxis"/>).</summary>
    void BroadcastAxis(DType dtype, BufferView source, BufferView result, ReduceShape shape, float scale);

    void Gemm(in GemmProblem problem);

    /// <summary>
    /// Uniform samples in [0, 1) from Philox-4x32-10: element i of the stream (seed, offset + i)
    /// is bit-identical on every backend.
    /// </summary>
    void FillUniform(DType dtype, BufferView destination, long count, ulong seed, ulong offset);

    /// <summary>Waits until every op issued so far has finished.</summary>
    void Synchronize();
}
