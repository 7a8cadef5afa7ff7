using ILGPU;
using ILGPU.Runtime;

namespace Dsoup.Kernels.Gpu.Merge;

/// <summary>
/// Host-to-device copies through two page-locked staging buffers, each with its own stream: while one
/// buffer's copy runs asynchronously, the caller fills the other (from a file), so reading and the
/// PCIe transfer overlap. Waiting on a buffer's own stream before refilling it is the only ordering
/// needed (ILGPU 1.5.3 has no events). Memory: two buffers, whatever the amount uploaded.
/// </summary>
public sealed class StagedUpload : IDisposable
{
    private readonly PageLockedArray1D<byte>[] staging;
    private readonly AcceleratorStream[] streams;
    private int next;

    internal StagedUpload(Accelerator accelerator, int bufferBytes)
    {
        BufferBytes = bufferBytes;
        staging = [accelerator.AllocatePageLocked1D<byte>(bufferBytes, true), accelerator.AllocatePageLocked1D<byte>(bufferBytes, true)];
        streams = [accelerator.CreateStream(), accelerator.CreateStream()];
    }

    /// <summary>Bytes per staging buffer: the most one <see cref="Fill"/> callback is asked for.</summary>
    public int BufferBytes { get; }

    /// <summary>Fills [offset, offset + span length) of the bytes being uploaded.</summary>
    public delegate void Fill(long offset, Span<byte> destination);

    /// <summary>Uploads <paramref name="bytes"/> bytes, produced piece by piece by <paramref name="fill"/>, into <paramref name="destination"/>.</summary>
    internal void Upload(ArrayView<byte> destination, long bytes, Fill fill)
    {
        for (long offset = 0; offset < bytes; offset += BufferBytes)
        {
            int length = (int)Math.Min(BufferBytes, bytes - offset);
            int k = next;
            next = 1 - next;
            streams[k].Synchronize(); // the copy that last used this buffer has finished
            Span<byte> piece = staging[k].Span[..length];
            fill(offset, piece);
            destination.SubView(offset, length).CopyFromCPUUnsafeAsync(streams[k], ref piece[0], length);
        }
    }

    /// <summary>Waits for every copy started so far.</summary>
    internal void Finish()
    {
        streams[0].Synchronize();
        streams[1].Synchronize();
    }

    public void Dispose()
    {
        Finish();
        foreach (AcceleratorStream stream in streams)
        {
            stream.Dispose();
        }
        foreach (PageLockedArray1D<byte> buffer in staging)
        {
            buffer.Dispose();
        }
    }
}
