namespace Dsoup.Kernels;

/// <summary>
/// One allocation owned by a backend. Freed by <see cref="Dispose"/>, never by a finalizer:
/// device memory must not wait for the garbage collector.
/// </summary>
public abstract class DeviceBuffer : IDisposable
{
    public abstract IBackend Backend { get; }

    public abstract long ByteLength { get; }

    public bool IsDisposed { get; private set; }

    public void Dispose()
    {
        if (IsDisposed)
        {
            return;
        }
        IsDisposed = true;
        Release();
    }

    protected abstract void Release();
}

/// <summary>A byte position inside a <see cref="DeviceBuffer"/>; what every backend op reads and writes.</summary>
public readonly record struct BufferView(DeviceBuffer Buffer, long ByteOffset)
{
    public BufferView Advance(long bytes) => new(Buffer, ByteOffset + bytes);

    /// <summary>Throws unless <paramref name="bytes"/> bytes from here lie inside a live buffer.</summary>
    public void EnsureSpan(long bytes, string what)
    {
        if (Buffer.IsDisposed)
        {
            throw new ObjectDisposedException(what, $"{what}: its device buffer has been freed");
        }
        if (ByteOffset < 0 || bytes < 0 || ByteOffset + bytes > Buffer.ByteLength)
        {
            throw new ArgumentOutOfRangeException(what,
                $"{what}: bytes [{ByteOffset}, {ByteOffset + bytes}) fall outside a buffer of {Buffer.ByteLength} bytes");
        }
    }
}
