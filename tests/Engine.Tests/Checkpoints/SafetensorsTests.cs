using System.Text;
using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;

namespace Dsoup.Engine.Tests.Checkpoints;

public class SafetensorsTests : IDisposable
{
    private readonly SafetensorsFiles files = new();

    public void Dispose() => files.Dispose();

    [Fact]
    public void HeaderMatchesTheReferenceGoldenBytes()
    {
        // huggingface/safetensors tensor.rs test_serialization: 64 bytes of JSON, already aligned.
        byte[] header = SafetensorsWriter.EncodeHeader([new TensorHeader("attn.0", StorageType.F32, [1, 2, 3])], null);
        Assert.Equal(64, BitConverter.ToInt64(header, 0));
        Assert.Equal("{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}", Encoding.UTF8.GetString(header, 8, 64));
        // test_serialization_forced_alignement: 65 bytes of JSON padded with 7 spaces to 72.
        header = SafetensorsWriter.EncodeHeader([new TensorHeader("attn0", StorageType.F32, [1, 1, 2, 3])], null);
        Assert.Equal(72, BitConverter.ToInt64(header, 0));
        Assert.EndsWith("[0,24]}}       ", Encoding.UTF8.GetString(header, 8, 72));
        // test_empty, without and with metadata.
        Assert.Equal([8, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}', 32, 32, 32, 32, 32, 32], SafetensorsWriter.EncodeHeader([], null));
        header = SafetensorsWriter.EncodeHeader([], new Dictionary<string, string> { ["framework"] = "pt" });
        Assert.Equal(40, BitConverter.ToInt64(header, 0));
        Assert.Equal("{\"__metadata__\":{\"framework\":\"pt\"}}     ", Encoding.UTF8.GetString(header, 8, 40));
    }

    [Fact]
    public void MetadataComesFirstAndTheDataSectionIsAligned()
    {
        byte[] header = SafetensorsWriter.EncodeHeader([new TensorHeader("x", StorageType.BF16, [3])], new Dictionary<string, string> { ["format"] = "pt" });
        Assert.StartsWith("{\"__metadata__\":{\"format\":\"pt\"},\"x\"", Encoding.UTF8.GetString(header, 8, header.Length - 8));
        Assert.Equal(0, header.Length % 8);
    }

    [Fact]
    public void WrittenFilesReadBackExactly()
    {
        string path = files.Valid();
        using var reader = SafetensorsReader.Open(path);
        Assert.Equal(["a", "b", "c", "d"], reader.Tensors.Select(t => t.Name));
        Assert.Equal("ünïcode", reader.Metadata["note"]);
        TensorEntry b = reader.Tensors[1];
        Assert.Equal(StorageType.F16, b.Type);
        Assert.Equal([5L], b.Shape);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (byte)i), b.Bytes(0, 10).ToArray());
        Assert.Equal(2, reader.Tensors[2].ByteLength);  // rank 0: one element
        Assert.Equal(0, reader.Tensors[3].ByteLength);  // a zero dimension: no bytes
    }

    [Fact]
    public void EveryFormatDTypeIsReadable()
    {
        foreach (StorageType type in Enum.GetValues<StorageType>())
        {
            long elements = type.Bits() % 8 == 0 ? 3 : 4; // sub-byte types need whole bytes
            string path = Path.Combine(files.Folder, $"{type}.safetensors");
            var header = new TensorHeader("t", type, [elements]);
            using (var writer = SafetensorsWriter.Create(path, [header], null))
            {
                writer.Write(new byte[header.ByteLength]);
                writer.Commit();
            }
            using var reader = SafetensorsReader.Open(path);
            Assert.Equal(type, reader.Tensors[0].Type);
            Assert.True(StorageTypes.TryParse(type.Name(), out StorageType parsed) && parsed == type);
        }
    }

    [Fact]
    public void WhitespaceAroundTheHeaderObjectIsAccepted()
    {
        string data = "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}";
        using (SafetensorsReader.Open(files.Raw("  \n\t" + data, 2)))
        {
        }
        using (SafetensorsReader.Open(files.Raw(data + "    ", 2)))
        {
        }
    }

    [Fact]
    public void AnUncommittedWriterLeavesNothingBehind()
    {
        string path = Path.Combine(files.Folder, "never.safetensors");
        using (var writer = SafetensorsWriter.Create(path, [new TensorHeader("x", StorageType.F32, [4])], null))
        {
            writer.Write(new byte[8]);
            Assert.True(File.Exists(path + ".partial"));
        }
        Assert.False(File.Exists(path));
        Assert.False(File.Exists(path + ".partial"));
    }

    [Fact]
    public void TheWriterRefusesToWriteTooMuchOrCommitTooLittle()
    {
        string path = Path.Combine(files.Folder, "short.safetensors");
        using var writer = SafetensorsWriter.Create(path, [new TensorHeader("x", StorageType.F32, [2])], null);
        Assert.Throws<InvalidOperationException>(() => writer.Write(new byte[9]));
        writer.Write(new byte[4]);
        Assert.Contains("only 4 of 8 data bytes", Assert.Throws<InvalidOperationException>(writer.Commit).Message);
    }

    [Fact]
    public void AnAbandonedWriteResumesToTheSameBytes()
    {
        var tensors = new[] { new TensorHeader("a", StorageType.F32, [4]), new TensorHeader("b", StorageType.F32, [4]) };
        byte[] a = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray(), b = Enumerable.Range(16, 16).Select(i => (byte)i).ToArray();
        string straight = Path.Combine(files.Folder, "straight.safetensors"), resumed = Path.Combine(files.Folder, "resumed.safetensors");
        using (var writer = SafetensorsWriter.Create(straight, tensors, null))
        {
            writer.Write(a);
            writer.Write(b);
            writer.Commit();
        }
        using (var writer = SafetensorsWriter.Create(resumed, tensors, null))
        {
            writer.Write(a);
            writer.Write(b.AsSpan(0, 5)); // killed mid-tensor
            writer.Abandon();
        }
        using (var writer = SafetensorsWriter.Resume(resumed, tensors, null, resumeAt: 16))
        {
            Assert.Equal(1, writer.CompletedTensors);
            writer.Write(b);
            writer.Commit();
        }
        Assert.Equal(File.ReadAllBytes(straight), File.ReadAllBytes(resumed));
        using var other = SafetensorsWriter.Create(resumed, tensors, null);
        other.Abandon();
        Assert.Throws<InvalidDataException>(() => SafetensorsWriter.Resume(resumed, [tensors[0]], null, 0));
    }

    [Fact]
    public void ShardedCheckpointsOpenThroughTheirIndex()
    {
        string one = Path.Combine(files.Folder, "model-00001-of-00002.safetensors"), two = Path.Combine(files.Folder, "model-00002-of-00002.safetensors");
        WriteOne(one, "w1");
        WriteOne(two, "w2");
        string index = Path.Combine(files.Folder, "model.safetensors.index.json");
        File.WriteAllText(index, "{\"metadata\":{\"total_size\":8},\"weight_map\":{\"w1\":\"model-00001-of-00002.safetensors\",\"w2\":\"model-00002-of-00002.safetensors\"}}");
        using (var reader = CheckpointFiles.Open(index))
        {
            Assert.Equal(["w1", "w2"], reader.Tensors.Select(t => t.Name).Order());
            Assert.Equal("8", reader.Metadata["total_size"]);
        }
        File.WriteAllText(index, "{\"weight_map\":{\"w1\":\"model-00002-of-00002.safetensors\",\"w2\":\"model-00002-of-00002.safetensors\"}}");
        Assert.Equal("InvalidIndex", Assert.Throws<CheckpointFormatException>(() => CheckpointFiles.Open(index)).Rule);
        File.WriteAllText(index, "{\"weight_map\":{\"w1\":\"missing.safetensors\"}}");
        Assert.Equal("MissingShard", Assert.Throws<CheckpointFormatException>(() => CheckpointFiles.Open(index)).Rule);
        File.WriteAllText(index, "{\"weight_map\":{\"w1\":\"../escape.safetensors\"}}");
        Assert.Equal("InvalidIndex", Assert.Throws<CheckpointFormatException>(() => CheckpointFiles.Open(index)).Rule);

        static void WriteOne(string path, string name)
        {
            using var writer = SafetensorsWriter.Create(path, [new TensorHeader(name, StorageType.F32, [1])], null);
            writer.Write(new byte[4]);
            writer.Commit();
        }
    }
}
