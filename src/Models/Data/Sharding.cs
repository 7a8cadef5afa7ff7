namespace Dsoup.Models.Data;

/// <summary>
/// Deterministic dataset shards, so N jobs on N machines train disjoint shards with no coordination: by a
/// stable hash of each example's name, or by a field (the label), where the field's distinct values, sorted,
/// are dealt round-robin to the shards (class groups stay whole and balanced).
/// </summary>
public static class Sharding
{
    public static IReadOnlyList<TrainingExample> Select(IReadOnlyList<TrainingExample> examples, int shard, int shards, string by = "name")
    {
        if (shards < 1 || shard < 0 || shard >= shards)
        {
            throw new ArgumentOutOfRangeException(nameof(shard), $"--shard {shard} --of {shards}: the shard index must be in [0, {shards})");
        }
        int[] owners = ShardOf(examples, shards, by);
        return examples.Where((_, i) => owners[i] == shard).ToList();
    }

    /// <summary>The shard each example belongs to, out of <paramref name="shards"/>, split by name or by label.</summary>
    public static int[] ShardOf(IReadOnlyList<TrainingExample> examples, int shards, string by = "name")
    {
        if (shards < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(shards), $"--of {shards}: there must be at least one shard");
        }
        if (by == "name")
        {
            return examples.Select(e => (int)(StableHash(e.Name) % (ulong)shards)).ToArray();
        }
        if (by != "label")
        {
            throw new ArgumentException($"--shard-by '{by}': expected name or label");
        }
        if (examples.Any(e => e.Label is null))
        {
            throw new ArgumentException("--shard-by label: this dataset's examples carry no label (a folder of images has none; use --shard-by name)");
        }
        string[] labels = examples.Select(e => e.Label!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (labels.Length < shards)
        {
            throw new ArgumentException($"--shard-by label: {labels.Length} distinct labels cannot fill {shards} shards");
        }
        var owner = labels.Select((label, i) => (label, i % shards)).ToDictionary(p => p.label, p => p.Item2, StringComparer.Ordinal);
        return examples.Select(e => owner[e.Label!]).ToArray();
    }

    /// <summary>At most <paramref name="count"/> examples, an even stride through the list (all of them for 0).</summary>
    public static IReadOnlyList<TrainingExample> Subsample(IReadOnlyList<TrainingExample> examples, int count)
    {
        if (count < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"--max-examples must be 0 (all) or positive; got {count}");
        }
        if (count == 0 || count >= examples.Count)
        {
            return examples;
        }
        return Enumerable.Range(0, count).Select(i => examples[(int)((long)i * examples.Count / count)]).ToList();
    }

    /// <summary>The labels shard <paramref name="shard"/> of <paramref name="shards"/> holds under <c>--shard-by label</c>.</summary>
    public static IReadOnlyList<string> LabelsOf(IEnumerable<string> labels, int shard, int shards) =>
        labels.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Where((_, i) => i % shards == shard).ToList();

    /// <summary>FNV-1a over the UTF-8 bytes: the same in every process and on every machine.</summary>
    public static ulong StableHash(string text)
    {
        ulong hash = 0xCBF29CE484222325UL;
        foreach (byte b in System.Text.Encoding.UTF8.GetBytes(text))
        {
            hash = (hash ^ b) * 0x100000001B3UL;
        }
        return hash;
    }
}
