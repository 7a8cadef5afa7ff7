namespace Dsoup.Models.Data;

/// <summary>
/// One captioned image of a dataset. <see cref="Name"/> is stable across machines (a file name, or a source and
/// index), so shards split the same everywhere; <see cref="Label"/> is a field to shard by (a class), if any.
/// <see cref="Load"/> gives RGB [3, size, size] in [0, 1], resized and centre-cropped to the square size.
/// </summary>
public sealed record TrainingExample(string Name, string Caption, string? Label, Func<int, float[]> Load)
{
    /// <summary>The image, or null after warning "skipped NAME: why" when it cannot be read (corrupt, truncated, too large).</summary>
    public float[]? TryLoad(int size, Action<string> warn)
    {
        try
        {
            return Load(size);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            warn($"skipped {Name}: {e.Message}");
            return null;
        }
    }
}
