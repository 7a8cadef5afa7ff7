using System.Buffers.Binary;

namespace Dsoup.Engine.Checkpoints.Safetensors;

/// <summary>
/// A validated, memory-mapped .safetensors file. Opening reads and checks only the header; tensor
/// bytes are views into the mapping, read when used.
/// </summary>
public sealed class SafetensorsReader : ICheckpointReader
{
    private readonly MappedFile file;

    private SafetensorsReader(MappedFile file, IReadOnlyList<TensorEntry> tensors, IReadOnlyDictionary<string, string> metadata, long headerBytes)
    {
        this.file = file;
        Tensors = tensors;
        Metadata = metadata;
        HeaderBytes = headerBytes;
    }

    public string Source => file.Path;

    public string Format => "safetensors";

    public IReadOnlyList<TensorEntry> Tensors { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Length of the JSON header (without the 8-byte length prefix).</summary>
    public long HeaderBytes { get; }

    public static SafetensorsReader Open(string path)
    {
        var file = new MappedFile(path);
        try
        {
            if (file.Length < 8)
            {
                throw new CheckpointFormatException(path, "HeaderTooSmall", $"the file holds {file.Length} bytes; a safetensors file starts with an 8-byte header length");
            }
            ulong declared = BinaryPrimitives.ReadUInt64LittleEndian(file.Span(0, 8));
            if (declared > SafetensorsHeader.MaxHeaderBytes)
            {
                throw new CheckpointFormatException(path, "HeaderTooLarge", $"the header claims {declared} bytes; the limit is {SafetensorsHeader.MaxHeaderBytes}");
            }
            long headerBytes = (long)declared;
            if (8 + headerBytes > file.Length)
            {
                throw new CheckpointFormatException(path, "InvalidHeaderLength", $"the header claims {headerBytes} bytes but the file holds only {file.Length - 8} after the length");
            }
            long dataStart = 8 + headerBytes;
            var (declaredTensors, metadata) = SafetensorsHeader.Parse(file.Span(8, (int)headerBytes), file.Length - dataStart, path);
            var entries = declaredTensors
                .Select(t => new TensorEntry(t.Name, t.Type, t.Shape, file, dataStart + t.Begin, t.End - t.Begin))
                .ToList();
            return new SafetensorsReader(file, entries, metadata, headerBytes);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public void Dispose() => file.Dispose();
}
