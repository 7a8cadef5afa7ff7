using ILGPU;
using ILGPU.Runtime;

namespace Dsoup.Kernels.Gpu;

/// <summary>A device allocation handed out by an <see cref="IlgpuBufferPool"/>; disposing returns it to the pool.</summary>
internal sealed class IlgpuBuffer : DeviceBuffer
{
    private readonly IlgpuBackend backend;
    private readonly IlgpuBufferPool pool;

    public IlgpuBuffer(IlgpuBackend backend, IlgpuBufferPool pool, MemoryBuffer1D<byte, Stride1D.Dense> memory, long bytes)
    {
        this.backend = backend;
        this.pool = pool;
        Memory = memory;
        ByteLength = bytes;
    }

    public MemoryBuffer1D<byte, Stride1D.Dense> Memory { get; }

    public override IBackend Backend => backend;

    public override long ByteLength { get; }

    protected override void Release() => pool.Return(Memory);
}
