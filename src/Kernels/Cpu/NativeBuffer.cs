using System.Runtime.InteropServices;

namespace Dsoup.Kernels.Cpu;

/// <summary>Unmanaged, 64-byte aligned host memory: no GC pressure, freed exactly when disposed.</summary>
internal sealed unsafe class NativeBuffer : DeviceBuffer
{
    public const int Alignment = 64;

    private readonly CpuBackend backend;

    public NativeBuffer(CpuBackend backend, long bytes)
    {
        this.backend = backend;
        ByteLength = bytes;
        Pointer = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 1), Alignment);
    }

    public byte* Pointer { get; private set; }

    public override IBackend Backend => backend;

    public override long ByteLength { get; }

    protected override void Release()
    {
        NativeMemory.AlignedFree(Pointer);
        Pointer = null;
    }
}
