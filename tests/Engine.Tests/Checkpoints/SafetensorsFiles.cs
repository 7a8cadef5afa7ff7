using System.Buffers.Binary;
using System.Text;
using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;

namespace Dsoup.Engine.Tests.Checkpoints;

/// <summary>Builds safetensors files byte by byte, valid or deliberately broken, in a private temporary folder.</summary>
public sealed class SafetensorsFiles : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("dsoup-st-").FullName;
    private int counter;

    public string Folder => folder;

    /// <summary>A file made of an 8-byte length, the given header text and data bytes.</summary>
    public string Raw(string header, int dataBytes, ulong? declaredLength = null)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        for (int i = 0; i < dataBytes; i++)
        {
            bytes[8 + json.Length + i] = (byte)(i * 7);
        }
        return Bytes(bytes);
    }

    public string Bytes(byte[] bytes)
    {
        string path = Path.Combine(folder, $"f{counter++}.safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>A valid file with a few tensors of different dtypes and metadata, written by dsoup's writer.</summary>
    public string Valid()
    {
        string path = Path.Combine(folder, $"valid{counter++}.safetensors");
        var tensors = new[]
        {
            new TensorHeader("a", StorageType.F32, [2, 3]),
            new TensorHeader("b", StorageType.F16, [5]),
            new TensorHeader("c", StorageType.BF16, []),
            new TensorHeader("d", StorageType.I64, [0, 4]),
        };
        using var writer = SafetensorsWriter.Create(path, tensors, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode" });
        foreach (var t in tensors)
        {
            writer.Write(Enumerable.Range(0, (int)t.ByteLength).Select(i => (byte)(i + 1)).ToArray());
        }
        writer.Commit();
        return path;
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);
}
