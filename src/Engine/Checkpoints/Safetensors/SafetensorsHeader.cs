using System.Text.Json;
using System.Text.Unicode;

namespace Dsoup.Engine.Checkpoints.Safetensors;

/// <summary>One tensor as the header declares it; offsets are relative to the data section.</summary>
internal sealed record DeclaredTensor(string Name, StorageType Type, long[] Shape, long Begin, long End);

/// <summary>
/// Parses and validates a safetensors header with the reference implementation's rules (rule names
/// are its error names): strict JSON, no duplicate keys, string-only metadata, known dtypes, and
/// tensors that tile the data section exactly, without gaps, overlaps or trailing bytes.
/// Whitespace around the JSON object is accepted (writers pad with it).
/// </summary>
internal static class SafetensorsHeader
{
    public const long MaxHeaderBytes = 100_000_000;

    public const string MetadataKey = "__metadata__";

    public static (List<DeclaredTensor> Tensors, Dictionary<string, string> Metadata) Parse(
        ReadOnlySpan<byte> json, long dataLength, string file)
    {
        if (!Utf8.IsValid(json))
        {
            throw Fail(file, "InvalidHeader", "the header is not valid UTF-8");
        }
        var tensors = new List<DeclaredTensor>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 8 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw Fail(file, "InvalidHeaderDeserialization", "the header must be a JSON object");
            }
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string key = reader.GetString()!;
                if (!seen.Add(key))
                {
                    throw Fail(file, "InvalidHeaderDeserialization", $"duplicate key '{key}'");
                }
                reader.Read();
                if (key == MetadataKey)
                {
                    ReadMetadata(ref reader, metadata, file);
                }
                else
                {
                    tensors.Add(ReadTensor(ref reader, key, file));
                }
            }
            if (reader.Read())
            {
                throw Fail(file, "InvalidHeaderDeserialization", "content follows the header's JSON object");
            }
        }
        catch (JsonException ex)
        {
            throw Fail(file, "InvalidHeaderDeserialization", $"the header is not valid JSON ({ex.Message})");
        }
        Validate(tensors, dataLength, file);
        tensors.Sort((a, b) => a.Begin.CompareTo(b.Begin));
        return (tensors, metadata);
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, Dictionary<string, string> metadata, string file)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Fail(file, "InvalidHeaderDeserialization", $"{MetadataKey} must be an object of strings, found {reader.TokenType}");
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string key = reader.GetString()!;
            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
            {
                throw Fail(file, "InvalidHeaderDeserialization",
                    $"{MetadataKey} must map strings to strings; '{key}' holds a {reader.TokenType}");
            }
            if (!metadata.TryAdd(key, reader.GetString()!))
            {
                throw Fail(file, "InvalidHeaderDeserialization", $"duplicate {MetadataKey} key '{key}'");
            }
        }
    }

    private static DeclaredTensor ReadTensor(ref Utf8JsonReader reader, string name, string file)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Fail(file, "InvalidHeaderDeserialization", $"tensor '{name}' must be an object, found {reader.TokenType}");
        }
        StorageType? type = null;
        long[]? shape = null, offsets = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string field = reader.GetString()!;
            reader.Read();
            switch (field)
            {
                case "dtype" when type is null:
                    string text = reader.TokenType == JsonTokenType.String ? reader.GetString()! : "";
                    type = StorageTypes.TryParse(text, out StorageType parsed)
                        ? parsed
                        : throw Fail(file, "InvalidHeaderDeserialization", $"tensor '{name}' has unknown dtype '{text}'");
                    break;
                case "shape" when shape is null:
                    shape = ReadIntegers(ref reader, name, field, file);
                    break;
                case "data_offsets" when offsets is null:
                    offsets = ReadIntegers(ref reader, name, field, file);
                    if (offsets.Length != 2)
                    {
                        throw Fail(file, "InvalidHeaderDeserialization", $"tensor '{name}' needs exactly 2 data_offsets, found {offsets.Length}");
                    }
                    break;
                case "dtype" or "shape" or "data_offsets":
                    throw Fail(file, "InvalidHeaderDeserialization", $"tensor '{name}' repeats the field '{field}'");
                default:
                    reader.Skip(); // unknown fields are ignored, as the reference reader does
                    break;
            }
        }
        if (type is null || shape is null || offsets is null)
        {
            string missing = type is null ? "dtype" : shape is null ? "shape" : "data_offsets";
            throw Fail(file, "InvalidHeaderDeserialization", $"tensor '{name}' has no '{missing}'");
        }
        return new DeclaredTensor(name, type.Value, shape, offsets[0], offsets[1]);
    }

    private static long[] ReadIntegers(ref Utf8JsonReader reader, string name, string field, string file)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Fail(file, "InvalidHeaderDeserialization", $"tensor '{name}': '{field}' must be an array of integers");
        }
        var values = new List<long>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.Number && reader.TryGetUInt64(out ulong huge) && huge > long.MaxValue)
            {
                throw Fail(file, "ValidationOverflow", $"tensor '{name}': '{field}' holds {huge}, beyond 64-bit arithmetic");
            }
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long value) || value < 0)
            {
                throw Fail(file, "InvalidHeaderDeserialization",
                    $"tensor '{name}': '{field}' must hold non-negative integers");
            }
            values.Add(value);
        }
        return [.. values];
    }

    private static void Validate(List<DeclaredTensor> tensors, long dataLength, string file)
    {
        foreach (DeclaredTensor t in tensors)
        {
            long elements = 1;
            try
            {
                foreach (long d in t.Shape)
                {
                    elements = checked(elements * d);
                }
                _ = checked(elements * t.Type.Bits());
            }
            catch (OverflowException)
            {
                throw Fail(file, "ValidationOverflow", $"tensor '{t.Name}' with shape [{string.Join(", ", t.Shape)}] overflows 64-bit arithmetic");
            }
            if (t.Type.ByteLength(elements) is not long bytes)
            {
                throw Fail(file, "MisalignedSlice", $"tensor '{t.Name}' holds {elements} {t.Type.Name()} elements, not a whole number of bytes");
            }
            if (t.End < t.Begin)
            {
                throw Fail(file, "InvalidOffset", $"tensor '{t.Name}' ends (byte {t.End}) before it begins (byte {t.Begin})");
            }
            if (t.End - t.Begin != bytes)
            {
                throw Fail(file, "TensorInvalidInfo",
                    $"tensor '{t.Name}' is {t.Type.Name()} [{string.Join(", ", t.Shape)}] = {bytes} bytes, but its offsets span {t.End - t.Begin}");
            }
        }
        long expected = 0;
        foreach (DeclaredTensor t in tensors.OrderBy(t => t.Begin).ThenBy(t => t.End))
        {
            if (t.Begin != expected)
            {
                throw Fail(file, "InvalidOffset", t.Begin > expected
                    ? $"tensor '{t.Name}' starts at byte {t.Begin}, leaving a gap after byte {expected}"
                    : $"tensor '{t.Name}' starts at byte {t.Begin}, overlapping data that ends at byte {expected}");
            }
            expected = t.End;
        }
        if (expected != dataLength)
        {
            throw Fail(file, "MetadataIncompleteBuffer", expected < dataLength
                ? $"the tensors cover {expected} bytes but the data section holds {dataLength}: {dataLength - expected} trailing bytes"
                : $"the tensors need {expected} bytes but the data section holds only {dataLength}: the file is truncated");
        }
    }

    private static CheckpointFormatException Fail(string file, string rule, string detail) => new(file, rule, detail);
}
