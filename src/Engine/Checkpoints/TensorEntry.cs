namespace Dsoup.Engine.Checkpoints;

/// <summary>
/// One tensor of a checkpoint: its name, element type and shape, and where its bytes lie
/// (a contiguous, row-major run of a mapped file).
/// </summary>
public sealed record TensorEntry(string Name, StorageType Type, long[] Shape, MappedFile File, long Offset, long ByteLength)
{
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);

    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    /// <summary>Bytes [start, start + length) of this tensor's data, viewed in place through the memory mapping.</summary>
    public ReadOnlySpan<byte> Bytes(long start, int length)
    {
        if (start < 0 || length < 0 || start > ByteLength - length)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"bytes [{start}, {start + length}) lie outside tensor '{Name}' ({ByteLength} bytes)");
        }
        return File.Span(Offset + start, length);
    }

    /// <summary>Copies bytes [start, start + destination.Length) of this tensor with positional reads (no mapping).</summary>
    public void Read(long start, Span<byte> destination)
    {
        if (start < 0 || start > ByteLength - destination.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"bytes [{start}, {start + destination.Length}) lie outside tensor '{Name}' ({ByteLength} bytes)");
        }
        File.Read(Offset + start, destination);
    }
}
