using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;

namespace Dsoup.Engine.Checkpoints;

/// <summary>
/// A checkpoint file opened for reading two ways: a read-only memory mapping for zero-copy views
/// (<see cref="Span"/>), and positional reads into caller buffers (<see cref="Read"/>) for streaming
/// jobs, which keep resident memory bounded (pages touched through a mapping count as resident).
/// Every access is bounds-checked against the length seen when the file was opened.
/// </summary>
public sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile? mapping;
    private readonly MemoryMappedViewAccessor? accessor;
    private readonly SafeMemoryMappedViewHandle? handle;
    private byte* pointer;

    private readonly SafeFileHandle file;

    public MappedFile(string path)
    {
        Path = path;
        file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        Length = RandomAccess.GetLength(file);
        if (Length == 0)
        {
            return; // nothing to map (the OS refuses empty mappings)
        }
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
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

    /// <summary>Copies bytes [offset, offset + destination.Length) of the file with positional reads.</summary>
    public void Read(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset > Length - destination.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"{Path}: bytes [{offset}, {offset + destination.Length}) lie outside the file ({Length} bytes)");
        }
        while (!destination.IsEmpty)
        {
            int read = RandomAccess.Read(file, destination, offset);
            if (read <= 0)
            {
                throw new IOException($"{Path}: the file shrank while it was being read (at byte {offset})");
            }
            destination = destination[read..];
            offset += read;
        }
    }

    public void Dispose()
    {
        file.Dispose();
        if (handle is not null && pointer != null)
        {
            handle.ReleasePointer();
            pointer = null;
        }
        accessor?.Dispose();
        mapping?.Dispose();
    }
}
