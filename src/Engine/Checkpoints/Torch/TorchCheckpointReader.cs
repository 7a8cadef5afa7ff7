using System.IO.Compression;

namespace Dsoup.Engine.Checkpoints.Torch;

/// <summary>
/// PyTorch's zip checkpoint format (.ckpt, .pt, .pth, .bin since torch 1.6): a pickle
/// (NAME/data.pkl) describing the state dict and one stored member per storage (NAME/data/KEY).
/// The pickle runs in <see cref="RestrictedUnpickler"/>; storages are memory-mapped in place.
/// A Lightning checkpoint's tensors are taken from its "state_dict"; its other plain values
/// (global_step, epoch) become metadata.
/// </summary>
public sealed class TorchCheckpointReader : ICheckpointReader
{
    private readonly MappedFile file;

    private TorchCheckpointReader(MappedFile file, IReadOnlyList<TensorEntry> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        this.file = file;
        Tensors = tensors;
        Metadata = metadata;
    }

    public string Source => file.Path;

    public string Format => "torch zip (pickle)";

    public IReadOnlyList<TensorEntry> Tensors { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static TorchCheckpointReader Open(string path)
    {
        var file = new MappedFile(path);
        try
        {
            if (!ZipDirectory.LooksLikeZip(file))
            {
                throw new CheckpointFormatException(path, "UnsupportedFormat", file.Length >= 2 && file.Span(0, 1)[0] == 0x80
                    ? "this is PyTorch's legacy (pre-1.6) format; load and re-save it with a recent PyTorch, or convert it to safetensors"
                    : "not a PyTorch zip checkpoint");
            }
            List<ZipMember> members = ZipDirectory.Read(file);
            ZipMember pickle = members.SingleOrDefault(m => m.Name.EndsWith("data.pkl", StringComparison.Ordinal) && m.Name.Count(c => c == '/') <= 1)
                ?? throw new CheckpointFormatException(path, "InvalidZip", "no data.pkl member: not a PyTorch checkpoint");
            string prefix = pickle.Name[..^"data.pkl".Length];
            CheckByteOrder(file, members, prefix);
            object? root = RestrictedUnpickler.Load(ReadMember(file, pickle), $"{path}!{pickle.Name}");
            var (stateDict, metadata) = FindStateDict(root, path);
            var byName = members.ToDictionary(m => m.Name, StringComparer.Ordinal);
            var tensors = new List<TensorEntry>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (key, value) in stateDict.Items)
            {
                if (key is string name && value is TensorRef tensor)
                {
                    if (!names.Add(name))
                    {
                        throw new CheckpointFormatException(path, "DuplicateKey", $"tensor '{name}' appears twice in the state dict");
                    }
                    tensors.Add(Entry(file, name, tensor, byName, prefix));
                }
            }
            return new TorchCheckpointReader(file, tensors, metadata);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static TensorEntry Entry(MappedFile file, string name, TensorRef tensor, Dictionary<string, ZipMember> members, string prefix)
    {
        (StorageType type, int size) = tensor.Storage.TypeName switch
        {
            "FloatStorage" => (StorageType.F32, 4),
            "HalfStorage" => (StorageType.F16, 2),
            "BFloat16Storage" => (StorageType.BF16, 2),
            "DoubleStorage" => (StorageType.F64, 8),
            "LongStorage" => (StorageType.I64, 8),
            "IntStorage" => (StorageType.I32, 4),
            "ShortStorage" => (StorageType.I16, 2),
            "CharStorage" => (StorageType.I8, 1),
            "ByteStorage" => (StorageType.U8, 1),
            _ => (StorageType.Bool, 1),
        };
        string memberName = $"{prefix}data/{tensor.Storage.Key}";
        if (!members.TryGetValue(memberName, out ZipMember? member))
        {
            throw new CheckpointFormatException(file.Path, "MissingStorage", $"tensor '{name}' needs storage '{memberName}', which is not in the archive");
        }
        if (!member.IsStored)
        {
            throw new CheckpointFormatException(file.Path, "CompressedStorage", $"storage '{memberName}' is compressed; PyTorch stores them uncompressed");
        }
        long elements = 1;
        long expectedStride = 1;
        try
        {
            for (int d = tensor.Size.Length - 1; d >= 0; d--)
            {
                if (tensor.Size[d] < 0)
                {
                    throw new CheckpointFormatException(file.Path, "InvalidTensor", $"tensor '{name}' has a negative size");
                }
                if (tensor.Size[d] != 1 && tensor.Stride.Length == tensor.Size.Length && tensor.Stride[d] != expectedStride)
                {
                    throw new CheckpointFormatException(file.Path, "NonContiguousTensor",
                        $"tensor '{name}' (size [{string.Join(", ", tensor.Size)}], stride [{string.Join(", ", tensor.Stride)}]) is not stored contiguously; re-save it after .contiguous()");
                }
                expectedStride = checked(expectedStride * tensor.Size[d]);
                elements = checked(elements * tensor.Size[d]);
            }
        }
        catch (OverflowException)
        {
            throw new CheckpointFormatException(file.Path, "ValidationOverflow", $"tensor '{name}' has a size that overflows 64 bits");
        }
        if (tensor.Stride.Length != tensor.Size.Length)
        {
            throw new CheckpointFormatException(file.Path, "InvalidTensor", $"tensor '{name}' has {tensor.Size.Length} sizes but {tensor.Stride.Length} strides");
        }
        long storageBytes = tensor.Storage.ElementCount * size;
        long start = tensor.Offset * size, length = elements * size;
        if (tensor.Offset < 0 || storageBytes != member.Size || start > storageBytes - length || length < 0)
        {
            throw new CheckpointFormatException(file.Path, "InvalidOffset",
                $"tensor '{name}' reads elements [{tensor.Offset}, {tensor.Offset + elements}) of storage '{tensor.Storage.Key}', " +
                $"which declares {tensor.Storage.ElementCount} elements and holds {member.Size} bytes");
        }
        return new TensorEntry(name, type, tensor.Size, file, member.DataOffset + start, length);
    }

    private static (PickleDict StateDict, Dictionary<string, string> Metadata) FindStateDict(object? root, string path)
    {
        if (root is not PickleDict top)
        {
            throw new CheckpointFormatException(path, "NoStateDict", "the pickle does not hold a dict of tensors");
        }
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in top.Items)
        {
            if (key is string name && value is long or double or string or bool)
            {
                metadata[name] = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!;
            }
        }
        foreach (var (key, value) in top.Items)
        {
            if (key is "state_dict" && value is PickleDict nested)
            {
                return (nested, metadata);
            }
        }
        return top.Items.Any(i => i.Value is TensorRef)
            ? (top, metadata)
            : throw new CheckpointFormatException(path, "NoStateDict", "no 'state_dict' entry and no tensors at the top level");
    }

    private static void CheckByteOrder(MappedFile file, List<ZipMember> members, string prefix)
    {
        ZipMember? order = members.FirstOrDefault(m => m.Name == prefix + "byteorder");
        if (order is not null && System.Text.Encoding.ASCII.GetString(ReadMember(file, order)).Trim() != "little")
        {
            throw new CheckpointFormatException(file.Path, "UnsupportedFormat", "the checkpoint was saved big-endian");
        }
    }

    private static byte[] ReadMember(MappedFile file, ZipMember member)
    {
        if (member.IsStored)
        {
            return file.Span(member.DataOffset, checked((int)member.Size)).ToArray();
        }
        if (member.Method != 8 || member.Size > 1L << 30)
        {
            throw new CheckpointFormatException(file.Path, "InvalidZip", $"member '{member.Name}' uses compression method {member.Method}");
        }
        using var compressed = new MemoryStream(file.Span(member.DataOffset, checked((int)member.CompressedSize)).ToArray(), writable: false);
        using var inflate = new DeflateStream(compressed, CompressionMode.Decompress);
        var result = new byte[member.Size];
        int read = inflate.ReadAtLeast(result, result.Length, throwOnEndOfStream: false);
        return read == result.Length ? result : throw new CheckpointFormatException(file.Path, "InvalidZip", $"member '{member.Name}' is truncated");
    }

    public void Dispose() => file.Dispose();
}
