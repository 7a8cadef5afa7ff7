using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;

namespace Dsoup.Engine.Tests.Checkpoints;

/// <summary>
/// One hostile file per rule of the reference reader, plus every truncation of a valid file and random
/// corruption: each gets a <see cref="CheckpointFormatException"/> naming the file and the rule, and
/// nothing else (no other exception type, no out-of-range read, no hang).
/// </summary>
public class HostileSafetensorsTests : IDisposable
{
    private readonly SafetensorsFiles files = new();

    public void Dispose() => files.Dispose();

    private const string Ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";

    public static TheoryData<string, string, int> Cases() => new()
    {
        // (header, rule, data bytes)
        { "{", "InvalidHeaderDeserialization", 0 },
        { "[1,2]", "InvalidHeaderDeserialization", 0 },
        { "{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", "InvalidHeaderDeserialization", 8 },
        { "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", "InvalidHeaderDeserialization", 8 },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}", "InvalidHeaderDeserialization", 8 },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", "InvalidHeaderDeserialization", 8 },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", "InvalidHeaderDeserialization", 8 },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", "InvalidHeaderDeserialization", 16 },
        { "{\"__metadata__\":{\"k\":1}," + Ok[1..], "InvalidHeaderDeserialization", 8 },
        { "{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}," + Ok[1..], "InvalidHeaderDeserialization", 8 },
        { "{\"__metadata__\":[]," + Ok[1..], "InvalidHeaderDeserialization", 8 },
        { Ok + " {}", "InvalidHeaderDeserialization", 8 },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", "InvalidOffset", 12 },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", "InvalidOffset", 8 },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", "InvalidOffset", 20 },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", "InvalidOffset", 16 },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", "ValidationOverflow", 8 },
        { "{\"test\":{\"dtype\":\"I32\",\"shape\":[2,18446744073709551614],\"data_offsets\":[0,16]}}", "ValidationOverflow", 16 },
        { "{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", "MisalignedSlice", 2 },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", "TensorInvalidInfo", 8 },
        { Ok, "MetadataIncompleteBuffer", 9 },
        { Ok, "MetadataIncompleteBuffer", 7 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void EachBrokenRuleIsNamed(string header, string rule, int dataBytes)
    {
        string path = files.Raw(header, dataBytes);
        var error = Assert.Throws<CheckpointFormatException>(() => SafetensorsReader.Open(path));
        Assert.Equal(rule, error.Rule);
        Assert.StartsWith(path + ": " + rule + ": ", error.Message);
    }

    [Fact]
    public void TenTensorsOnOneRangeAreRejected()
    {
        // test_json_attack: ten tensors all at [0, 16].
        string header = "{" + string.Join(",", Enumerable.Range(0, 10).Select(i => $"\"t{i}\":{{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}")) + "}";
        Assert.Equal("InvalidOffset", Assert.Throws<CheckpointFormatException>(() => SafetensorsReader.Open(files.Raw(header, 16))).Rule);
    }

    [Fact]
    public void LengthFieldViolationsAreNamed()
    {
        Assert.Equal("HeaderTooSmall", Assert.Throws<CheckpointFormatException>(() => SafetensorsReader.Open(files.Bytes([1, 2, 3]))).Rule);
        Assert.Equal("HeaderTooLarge", Assert.Throws<CheckpointFormatException>(() => SafetensorsReader.Open(files.Raw(Ok, 8, 100_000_001))).Rule);
        Assert.Equal("InvalidHeaderLength", Assert.Throws<CheckpointFormatException>(() => SafetensorsReader.Open(files.Raw(Ok, 8, 5000))).Rule);
        Assert.Equal("HeaderTooLarge", Assert.Throws<CheckpointFormatException>(() => SafetensorsReader.Open(files.Raw(Ok, 8, ulong.MaxValue))).Rule);
    }

    [Fact]
    public void InvalidUtf8IsNamed()
    {
        byte[] bytes = File.ReadAllBytes(files.Raw("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1));
        bytes[10] = 0xFF;
        Assert.Equal("InvalidHeader", Assert.Throws<CheckpointFormatException>(() => SafetensorsReader.Open(files.Bytes(bytes))).Rule);
    }

    [Fact]
    public void EveryTruncationOfAValidFileIsRejected()
    {
        byte[] valid = File.ReadAllBytes(files.Valid());
        for (int length = 0; length < valid.Length; length++)
        {
            string path = files.Bytes(valid[..length]);
            var error = Assert.Throws<CheckpointFormatException>(() => SafetensorsReader.Open(path));
            Assert.Contains(path, error.Message);
        }
    }

    [Fact]
    public void RandomCorruptionNeverEscapesAsAnotherException()
    {
        byte[] valid = File.ReadAllBytes(files.Valid());
        var random = new System.Random(11);
        for (int trial = 0; trial < 1500; trial++)
        {
            byte[] bytes = (byte[])valid.Clone();
            int flips = 1 + random.Next(3);
            for (int f = 0; f < flips; f++)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }
            string path = files.Bytes(bytes);
            try
            {
                using var reader = SafetensorsReader.Open(path);
                foreach (TensorEntry t in reader.Tensors)
                {
                    _ = t.Bytes(0, (int)t.ByteLength).ToArray(); // opened files must be readable in full
                }
            }
            catch (CheckpointFormatException)
            {
            }
            File.Delete(path);
        }
    }
}
