using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Dsoup.Engine.Checkpoints.Safetensors;

/// <summary>
/// Writes a .safetensors file in one sequential pass: the exact header first (compact JSON,
/// __metadata__ first, space-padded so the data section is 8-byte aligned), then each tensor's bytes
/// in the declared order. Everything goes to "NAME.partial" beside the target, which is flushed to
/// disk and renamed into place by <see cref="Commit"/>; disposing an uncommitted writer deletes it,
/// so a failed write never leaves a file that looks complete.
/// </summary>
public sealed class SafetensorsWriter : IDisposable
{
    public const string PartialSuffix = ".partial";

    private readonly FileStream stream;
    private readonly long[] ends;
    private readonly bool bounded;
    private bool committed;

    private SafetensorsWriter(string path, FileStream stream, IReadOnlyList<TensorHeader> tensors, long headerBytes, long written, bool bounded = false)
    {
        this.bounded = bounded;
        FinalPath = path;
        this.stream = stream;
        Tensors = tensors;
        DataStart = headerBytes;
        ends = new long[tensors.Count];
        long end = 0;
        for (int i = 0; i < tensors.Count; i++)
        {
            end += tensors[i].ByteLength;
            ends[i] = end;
        }
        DataLength = end;
        Written = written;
    }

    public string FinalPath { get; }

    public string PartialPath => FinalPath + PartialSuffix;

    public IReadOnlyList<TensorHeader> Tensors { get; }

    /// <summary>Absolute file offset of the first tensor byte.</summary>
    public long DataStart { get; }

    public long DataLength { get; }

    /// <summary>Data bytes written so far.</summary>
    public long Written { get; private set; }

    /// <summary>How many tensors have all their bytes written.</summary>
    public int CompletedTensors
    {
        get
        {
            int done = 0;
            while (done < ends.Length && ends[done] <= Written)
            {
                done++;
            }
            return done;
        }
    }

    public static SafetensorsWriter Create(string path, IReadOnlyList<TensorHeader> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        byte[] header = EncodeHeader(tensors, metadata);
        long total = header.Length + tensors.Sum(t => t.ByteLength);
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var stream = new FileStream(path + PartialSuffix, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
            BufferSize = 1 << 20,
            PreallocationSize = total, // fails now, not after hours of reading, when the disk is too small
        });
        stream.Write(header);
        return new SafetensorsWriter(path, stream, tensors, header.Length, 0);
    }

    /// <summary>
    /// Starts a file whose tensors' sizes are known only once written (packed data): <paramref name="bounds"/>
    /// gives every tensor's largest size, and the header is reserved at the length those bounds need (the
    /// real sizes have no more digits). <see cref="Commit(IReadOnlyList{TensorHeader}, IReadOnlyDictionary{string, string})"/>
    /// writes the real header, padded with spaces to that length (which the format allows), and the
    /// data follows it unchanged.
    /// </summary>
    public static SafetensorsWriter CreateBounded(string path, IReadOnlyList<TensorHeader> bounds, IReadOnlyDictionary<string, string>? metadata)
    {
        byte[] header = EncodeHeader(bounds, metadata);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var stream = new FileStream(path + PartialSuffix, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 20);
        stream.Write(header);
        return new SafetensorsWriter(path, stream, bounds, header.Length, 0, bounded: true);
    }

    /// <summary>
    /// Reopens the partial file of an interrupted write, after checking that it was started with exactly
    /// this header, and continues at data offset <paramref name="resumeAt"/> (a tensor boundary).
    /// </summary>
    public static SafetensorsWriter Resume(string path, IReadOnlyList<TensorHeader> tensors, IReadOnlyDictionary<string, string>? metadata, long resumeAt)
    {
        byte[] header = EncodeHeader(tensors, metadata);
        var stream = new FileStream(path + PartialSuffix, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1 << 20);
        try
        {
            var existing = new byte[header.Length];
            if (stream.Length < header.Length + resumeAt || stream.ReadAtLeast(existing, existing.Length, throwOnEndOfStream: false) != existing.Length
                || !existing.AsSpan().SequenceEqual(header))
            {
                throw new InvalidDataException($"{path}{PartialSuffix} was not started by this job (its header differs); remove it to start over");
            }
            stream.Position = header.Length + resumeAt;
            return new SafetensorsWriter(path, stream, tensors, header.Length, resumeAt);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        if (Written + bytes.Length > DataLength)
        {
            throw new InvalidOperationException($"{FinalPath}: writing {bytes.Length} bytes at {Written} overruns the declared {DataLength} data bytes");
        }
        stream.Write(bytes);
        Written += bytes.Length;
    }

    /// <summary>
    /// Rewrites the header with one of exactly the same length (metadata whose fixed-width fields, such
    /// as content hashes, were only known after the data was streamed). Offsets cannot change.
    /// </summary>
    public void PatchHeader(byte[] header)
    {
        if (bounded)
        {
            throw new InvalidOperationException($"{FinalPath}: a bounded file's header is written by Commit(tensors, metadata)");
        }
        if (header.Length != DataStart)
        {
            throw new InvalidOperationException($"{FinalPath}: a patched header must keep its length ({DataStart} bytes), not {header.Length}");
        }
        long position = stream.Position;
        stream.Position = 0;
        stream.Write(header);
        stream.Position = position;
    }

    /// <summary>Flushes to stable storage (for resume journals that must not run ahead of the data).</summary>
    public void FlushToDisk() => stream.Flush(flushToDisk: true);

    /// <summary>
    /// Commits a file started by <see cref="CreateBounded"/>: <paramref name="tensors"/> are the tensors as
    /// written (same names and order as the bounds, none larger), whose bytes must add up to what was written.
    /// </summary>
    public void Commit(IReadOnlyList<TensorHeader> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        if (!bounded)
        {
            throw new InvalidOperationException($"{FinalPath}: only a bounded file takes its header at commit");
        }
        for (int i = 0; i < Tensors.Count; i++)
        {
            if (i >= tensors.Count || tensors[i].Name != Tensors[i].Name || tensors[i].ByteLength > Tensors[i].ByteLength)
            {
                throw new InvalidOperationException($"{FinalPath}: tensor {i} as written does not fit its bound '{Tensors[i].Name}'");
            }
        }
        long data = tensors.Sum(t => t.ByteLength);
        if (tensors.Count != Tensors.Count || data != Written)
        {
            throw new InvalidOperationException($"{FinalPath}: {Written} data bytes were written for tensors of {data}");
        }
        byte[] header = EncodeHeader(tensors, metadata, (int)DataStart);
        stream.Position = 0;
        stream.Write(header);
        Finish(DataStart + data);
    }

    /// <summary>Checks that every declared byte was written, syncs to disk and renames into place.</summary>
    public void Commit()
    {
        if (bounded)
        {
            throw new InvalidOperationException($"{FinalPath}: a bounded file commits with the tensors as written");
        }
        if (Written != DataLength)
        {
            throw new InvalidOperationException($"{FinalPath}: only {Written} of {DataLength} data bytes were written");
        }
        Finish(DataStart + DataLength);
    }

    private void Finish(long length)
    {
        stream.SetLength(length);
        stream.Flush(flushToDisk: true);
        stream.Dispose();
        File.Move(PartialPath, FinalPath, overwrite: true);
        committed = true;
    }

    /// <summary>Closes without deleting the partial file, so a later run can resume it.</summary>
    public void Abandon()
    {
        committed = true;
        stream.Dispose();
    }

    public void Dispose()
    {
        if (committed)
        {
            return;
        }
        stream.Dispose();
        File.Delete(PartialPath);
        committed = true;
    }

    /// <summary>
    /// The 8-byte length, the compact JSON header and its space padding, exactly as written: padded to a
    /// multiple of 8 bytes, or to <paramref name="totalLength"/> bytes in all when that is given (a multiple of 8).
    /// </summary>
    public static byte[] EncodeHeader(IReadOnlyList<TensorHeader> tensors, IReadOnlyDictionary<string, string>? metadata, int totalLength = 0)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            if (metadata is not null)
            {
                writer.WriteStartObject(SafetensorsHeader.MetadataKey);
                foreach ((string key, string value) in metadata)
                {
                    writer.WriteString(key, value);
                }
                writer.WriteEndObject();
            }
            long offset = 0;
            foreach (TensorHeader t in tensors)
            {
                if (t.Name.Length == 0 || t.Name == SafetensorsHeader.MetadataKey || !names.Add(t.Name))
                {
                    throw new ArgumentException($"tensor name '{t.Name}' is empty, reserved or repeated");
                }
                long end = offset + t.ByteLength;
                writer.WriteStartObject(t.Name);
                writer.WriteString("dtype", t.Type.Name());
                writer.WriteStartArray("shape");
                foreach (long d in t.Shape)
                {
                    writer.WriteNumberValue(d);
                }
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(end);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset = end;
            }
            writer.WriteEndObject();
        }
        int length = (int)json.Length;
        int padded = (length + 7) / 8 * 8;
        if (totalLength > 0)
        {
            if (totalLength % 8 != 0 || totalLength - 8 < padded)
            {
                throw new ArgumentException($"a {length}-byte header cannot be padded to {totalLength} bytes");
            }
            padded = totalLength - 8;
        }
        var header = new byte[8 + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)padded);
        json.GetBuffer().AsSpan(0, length).CopyTo(header.AsSpan(8));
        header.AsSpan(8 + length).Fill((byte)' ');
        return header;
    }
}
