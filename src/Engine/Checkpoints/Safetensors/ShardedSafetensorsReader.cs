using System.Text.Json;

namespace Dsoup.Engine.Checkpoints.Safetensors;

/// <summary>
/// A checkpoint split over several .safetensors files by a "*.safetensors.index.json"
/// ({"metadata": {...}, "weight_map": {"tensor": "file"}}). Every tensor must be in the shard the
/// map names, and every shard tensor must be in the map.
/// </summary>
public sealed class ShardedSafetensorsReader : ICheckpointReader
{
    private readonly List<SafetensorsReader> shards;

    private ShardedSafetensorsReader(string source, List<SafetensorsReader> shards, IReadOnlyList<TensorEntry> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Source = source;
        this.shards = shards;
        Tensors = tensors;
        Metadata = metadata;
    }

    public string Source { get; }

    public string Format => $"safetensors (sharded, {shards.Count} files)";

    public IReadOnlyList<TensorEntry> Tensors { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static ShardedSafetensorsReader Open(string indexPath)
    {
        (Dictionary<string, string> weightMap, Dictionary<string, string> metadata) = ReadIndex(indexPath);
        string folder = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var shards = new List<SafetensorsReader>();
        try
        {
            var tensors = new List<TensorEntry>();
            foreach (string shardName in weightMap.Values.Distinct().Order(StringComparer.Ordinal))
            {
                if (shardName.Contains('/') || shardName.Contains('\\') || shardName.StartsWith('.'))
                {
                    throw new CheckpointFormatException(indexPath, "InvalidIndex", $"shard '{shardName}' must be a file name beside the index");
                }
                string shardPath = Path.Combine(folder, shardName);
                if (!File.Exists(shardPath))
                {
                    throw new CheckpointFormatException(indexPath, "MissingShard", $"shard '{shardName}' does not exist");
                }
                SafetensorsReader shard = SafetensorsReader.Open(shardPath);
                shards.Add(shard);
                foreach (TensorEntry t in shard.Tensors)
                {
                    if (!weightMap.TryGetValue(t.Name, out string? mapped) || mapped != shardName)
                    {
                        throw new CheckpointFormatException(indexPath, "InvalidIndex",
                            $"tensor '{t.Name}' is in shard '{shardName}' but the weight map says {(mapped is null ? "nothing about it" : $"'{mapped}'")}");
                    }
                    tensors.Add(t);
                }
            }
            var present = tensors.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
            string? lost = weightMap.Keys.FirstOrDefault(k => !present.Contains(k));
            if (lost is not null)
            {
                throw new CheckpointFormatException(indexPath, "InvalidIndex", $"tensor '{lost}' is mapped to '{weightMap[lost]}' but that shard does not hold it");
            }
            return new ShardedSafetensorsReader(indexPath, shards, tensors, metadata);
        }
        catch
        {
            foreach (SafetensorsReader shard in shards)
            {
                shard.Dispose();
            }
            throw;
        }
    }

    private static (Dictionary<string, string> WeightMap, Dictionary<string, string> Metadata) ReadIndex(string indexPath)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (!document.RootElement.TryGetProperty("weight_map", out JsonElement map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new CheckpointFormatException(indexPath, "InvalidIndex", "no \"weight_map\" object");
            }
            var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonProperty p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String || !weightMap.TryAdd(p.Name, p.Value.GetString()!))
                {
                    throw new CheckpointFormatException(indexPath, "InvalidIndex", $"weight_map entry '{p.Name}' must appear once and name a file");
                }
            }
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            if (document.RootElement.TryGetProperty("metadata", out JsonElement meta) && meta.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty p in meta.EnumerateObject())
                {
                    metadata[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
                }
            }
            return (weightMap, metadata);
        }
        catch (JsonException ex)
        {
            throw new CheckpointFormatException(indexPath, "InvalidIndex", $"not valid JSON ({ex.Message})");
        }
    }

    public void Dispose()
    {
        foreach (SafetensorsReader shard in shards)
        {
            shard.Dispose();
        }
    }
}
