using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;

namespace Dsoup.Engine.Checkpoints;

/// <summary>
/// A read-only memory mapping of a whole file. Tensor bytes are read straight out of the page cache
/// with no copy; every access is bounds-checked against the length seen when the file was opened.
/// </summary>
public sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile? mapping;
    private readonly MemoryMappedViewAccessor? accessor;
    private readonly SafeMemoryMappedViewHandle? handle;
    private byte* pointer;

    public MappedFile(string path)
    {
        Path = path;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
        Length = stream.Length;
        if (Length == 0)
        {
            return; // nothing to map (the OS refuses empty mappings)
        }
        mapping = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        accessor = mapping.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        handle = accessor.SafeMemoryMappedViewHandle;
        handle.AcquirePointer(ref pointer);
        pointer += accessor.PointerOffset;
    }

    public string Path { get; }

    public long Length { get; }

    /// <summary>Bytes [offset, offset + length) of the file; throws rather than read outside it.</summary>
    public ReadOnlySpan<byte> Span(long offset, int length)
    {
        if (offset < 0 || length < 0 || offset > Length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"{Path}: bytes [{offset}, {offset + length}) lie outside the file ({Length} bytes)");
        }
        ObjectDisposedException.ThrowIf(pointer == null && Length > 0, this);
        return length == 0 ? [] : new ReadOnlySpan<byte>(pointer + offset, length);
    }

    public void Dispose()
    {
        if (handle is not null && pointer != null)
        {
            handle.ReleasePointer();
            pointer = null;
        }
        accessor?.Dispose();
        mapping?.Dispose();
    }
}
