using Dsoup.Engine.Checkpoints;

namespace Dsoup.Models.Tests;

/// <summary>Compares checkpoints tensor by tensor: names, types, shapes and every byte.</summary>
public static class CheckpointAssert
{
    public static Dictionary<string, (StorageType Type, long[] Shape, byte[] Bytes)> ReadAll(string file)
    {
        using ICheckpointReader reader = CheckpointFiles.Open(file);
        return reader.Tensors.ToDictionary(t => t.Name, t =>
        {
            var bytes = new byte[t.ByteLength];
            t.Read(0, bytes);
            return (t.Type, t.Shape, bytes);
        });
    }

    public static void SameTensors(string expectedFile, string actualFile)
    {
        var expected = ReadAll(expectedFile);
        var actual = ReadAll(actualFile);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, e) in expected)
        {
            var a = actual[name];
            Assert.True(e.Type == a.Type && e.Shape.SequenceEqual(a.Shape), $"{name}: {a.Type} [{string.Join(",", a.Shape)}] instead of {e.Type} [{string.Join(",", e.Shape)}]");
            Assert.True(e.Bytes.AsSpan().SequenceEqual(a.Bytes), $"{name}: bytes differ");
        }
    }
}
