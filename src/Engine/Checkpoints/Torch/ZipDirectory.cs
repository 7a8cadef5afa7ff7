using System.Buffers.Binary;
using System.Text;

namespace Dsoup.Engine.Checkpoints.Torch;

/// <summary>One member of a zip archive: where its bytes start in the file and how they are stored.</summary>
internal sealed record ZipMember(string Name, int Method, long CompressedSize, long Size, long DataOffset)
{
    public bool IsStored => Method == 0;
}

/// <summary>
/// Reads a zip archive's central directory (ZIP64 included: SD checkpoints exceed 4 GiB) so that
/// stored members can be memory-mapped in place. Every offset and size is checked against the file.
/// </summary>
internal static class ZipDirectory
{
    private const uint EndOfDirectory = 0x06054B50;
    private const uint Zip64Locator = 0x07064B50;
    private const uint Zip64EndOfDirectory = 0x06064B50;
    private const uint DirectoryEntry = 0x02014B50;
    private const uint LocalHeader = 0x04034B50;

    public static bool LooksLikeZip(MappedFile file) =>
        file.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(file.Span(0, 4)) == LocalHeader;

    public static List<ZipMember> Read(MappedFile file)
    {
        long eocd = FindEndOfDirectory(file);
        ReadOnlySpan<byte> end = file.Span(eocd, 22);
        long entries = BinaryPrimitives.ReadUInt16LittleEndian(end[10..]);
        long directorySize = BinaryPrimitives.ReadUInt32LittleEndian(end[12..]);
        long directoryOffset = BinaryPrimitives.ReadUInt32LittleEndian(end[16..]);
        if (entries == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF)
        {
            (entries, directorySize, directoryOffset) = ReadZip64End(file, eocd);
        }
        if (directoryOffset < 0 || directorySize < 0 || directoryOffset > file.Length - directorySize || entries > directorySize / 46 + 1)
        {
            throw Fail(file, $"the central directory ({directorySize} bytes at {directoryOffset}, {entries} entries) does not fit the file");
        }
        var members = new List<ZipMember>();
        long position = directoryOffset;
        for (long i = 0; i < entries; i++)
        {
            members.Add(ReadEntry(file, ref position, directoryOffset + directorySize));
        }
        return members;
    }

    private static long FindEndOfDirectory(MappedFile file)
    {
        long earliest = Math.Max(0, file.Length - 22 - 65535);
        for (long at = file.Length - 22; at >= earliest; at--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(file.Span(at, 4)) == EndOfDirectory)
            {
                return at;
            }
        }
        throw Fail(file, "no end-of-central-directory record: the archive is truncated or not a zip file");
    }

    private static (long Entries, long Size, long Offset) ReadZip64End(MappedFile file, long eocd)
    {
        if (eocd < 20 || BinaryPrimitives.ReadUInt32LittleEndian(file.Span(eocd - 20, 4)) != Zip64Locator)
        {
            throw Fail(file, "the archive needs ZIP64 records but has no ZIP64 locator");
        }
        long recordOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(file.Span(eocd - 20 + 8, 8));
        if (recordOffset < 0 || recordOffset > file.Length - 56 || BinaryPrimitives.ReadUInt32LittleEndian(file.Span(recordOffset, 4)) != Zip64EndOfDirectory)
        {
            throw Fail(file, $"the ZIP64 end record at byte {recordOffset} is missing or outside the file");
        }
        ReadOnlySpan<byte> record = file.Span(recordOffset, 56);
        return ((long)BinaryPrimitives.ReadUInt64LittleEndian(record[32..]),
            (long)BinaryPrimitives.ReadUInt64LittleEndian(record[40..]),
            (long)BinaryPrimitives.ReadUInt64LittleEndian(record[48..]));
    }

    private static ZipMember ReadEntry(MappedFile file, ref long position, long directoryEnd)
    {
        if (position > directoryEnd - 46 || BinaryPrimitives.ReadUInt32LittleEndian(file.Span(position, 4)) != DirectoryEntry)
        {
            throw Fail(file, $"a central directory entry at byte {position} is damaged");
        }
        ReadOnlySpan<byte> header = file.Span(position, 46);
        int method = BinaryPrimitives.ReadUInt16LittleEndian(header[10..]);
        long compressed = BinaryPrimitives.ReadUInt32LittleEndian(header[20..]);
        long size = BinaryPrimitives.ReadUInt32LittleEndian(header[24..]);
        int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(header[28..]);
        int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(header[30..]);
        int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(header[32..]);
        long localOffset = BinaryPrimitives.ReadUInt32LittleEndian(header[42..]);
        long variable = nameLength + extraLength + commentLength;
        if (position + 46 + variable > directoryEnd)
        {
            throw Fail(file, $"a central directory entry at byte {position} runs past the directory");
        }
        string name = Encoding.UTF8.GetString(file.Span(position + 46, nameLength));
        ReadOnlySpan<byte> extra = file.Span(position + 46 + nameLength, extraLength);
        ApplyZip64Extra(extra, ref size, ref compressed, ref localOffset);
        position += 46 + variable;

        if (localOffset < 0 || localOffset > file.Length - 30 || BinaryPrimitives.ReadUInt32LittleEndian(file.Span(localOffset, 4)) != LocalHeader)
        {
            throw Fail(file, $"member '{name}' points to a local header at byte {localOffset} that is missing");
        }
        ReadOnlySpan<byte> local = file.Span(localOffset, 30);
        long dataOffset = localOffset + 30 + BinaryPrimitives.ReadUInt16LittleEndian(local[26..]) + BinaryPrimitives.ReadUInt16LittleEndian(local[28..]);
        if (compressed < 0 || size < 0 || dataOffset > file.Length - compressed)
        {
            throw Fail(file, $"member '{name}' ({compressed} bytes at byte {dataOffset}) runs past the end of the file");
        }
        if (method == 0 && compressed != size)
        {
            throw Fail(file, $"stored member '{name}' claims {size} bytes but occupies {compressed}");
        }
        return new ZipMember(name, method, compressed, size, dataOffset);
    }

    private static void ApplyZip64Extra(ReadOnlySpan<byte> extra, ref long size, ref long compressed, ref long localOffset)
    {
        while (extra.Length >= 4)
        {
            int id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            int length = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (length > extra.Length - 4)
            {
                return;
            }
            ReadOnlySpan<byte> field = extra.Slice(4, length);
            if (id == 0x0001)
            {
                int at = 0;
                if (size == 0xFFFF_FFFF && at + 8 <= field.Length)
                {
                    size = (long)BinaryPrimitives.ReadUInt64LittleEndian(field[at..]);
                    at += 8;
                }
                if (compressed == 0xFFFF_FFFF && at + 8 <= field.Length)
                {
                    compressed = (long)BinaryPrimitives.ReadUInt64LittleEndian(field[at..]);
                    at += 8;
                }
                if (localOffset == 0xFFFF_FFFF && at + 8 <= field.Length)
                {
                    localOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(field[at..]);
                }
            }
            extra = extra[(4 + length)..];
        }
    }

    private static CheckpointFormatException Fail(MappedFile file, string detail) => new(file.Path, "InvalidZip", detail);
}
