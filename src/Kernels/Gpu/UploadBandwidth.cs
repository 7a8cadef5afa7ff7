using ILGPU;
using ILGPU.Runtime;

namespace Dsoup.Kernels.Gpu;

/// <summary>
/// One host-to-device copy from page-locked memory, repeatable: timed by the caller, it gives the ceiling for
/// any merge that must move every input byte to the device (a device-side TIES soup is judged as a fraction of it).
/// </summary>
public sealed class UploadBandwidth : IDisposable
{
    private readonly IlgpuBackend backend;
    private readonly PageLockedArray1D<byte> pinned;
    private readonly MemoryBuffer1D<byte, Stride1D.Dense> device;
    private readonly AcceleratorStream stream;

    public UploadBandwidth(IlgpuBackend backend, int bytes)
    {
        this.backend = backend;
        Bytes = bytes;
        PageLockedArray1D<byte>? host = null;
        MemoryBuffer1D<byte, Stride1D.Dense>? memory = null;
        AcceleratorStream? copies = null;
        backend.Run(() =>
        {
            host = backend.Accelerator.AllocatePageLocked1D<byte>(bytes, true);
            memory = backend.Accelerator.Allocate1D<byte>(bytes);
            copies = backend.Accelerator.CreateStream();
        });
        (pinned, device, stream) = (host!, memory!, copies!);
    }

    public int Bytes { get; }

    /// <summary>Copies <see cref="Bytes"/> bytes to the device and waits for the copy.</summary>
    public void CopyOnce() => backend.Run(() =>
    {
        device.View.AsContiguous().CopyFromCPUUnsafeAsync(stream, ref pinned.Span[0], Bytes);
        stream.Synchronize();
    });

    public void Dispose() => backend.Run(() =>
    {
        stream.Dispose();
        device.Dispose();
        pinned.Dispose();
    });
}
