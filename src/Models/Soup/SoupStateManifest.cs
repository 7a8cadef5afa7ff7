using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dsoup.Models.Soup;

/// <summary>An ingredient of a soup state: content hash, name, whole-number weight and its own metadata.</summary>
public sealed record StateIngredient(string Hash, string Name, long Weight, SortedDictionary<string, string> Metadata);

/// <summary>A tensor a soup state covers: its output dtype and shape.</summary>
public sealed record StateTensor(string DType, long[] Shape);

/// <summary>
/// What a soup state file records in its __metadata__ ("dsoup.state") besides the sums: the recipe
/// parts that must stay fixed across add/remove, every tensor's output dtype and shape, and the
/// ingredients (sorted by hash, so equal soups have equal state files whatever their history).
/// </summary>
public sealed record SoupStateManifest(
    int Version,
    string Layout,
    string TextEncoder,
    string Ema,
    string[] Include,
    string[] Exclude,
    long TotalWeight,
    SortedDictionary<string, StateTensor> Tensors,
    List<StateIngredient> Ingredients)
{
    public const string MetadataKey = "dsoup.state";

    public const int CurrentVersion = 1;

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public string ToJson() => JsonSerializer.Serialize(this with { Ingredients = Ingredients.OrderBy(i => i.Hash, StringComparer.Ordinal).ThenBy(i => i.Name, StringComparer.Ordinal).ToList() }, Options);

    public static SoupStateManifest Parse(string json, string file)
    {
        try
        {
            SoupStateManifest manifest = JsonSerializer.Deserialize<SoupStateManifest>(json, Options) ?? throw new JsonException("empty");
            if (manifest.Version != CurrentVersion)
            {
                throw new InvalidDataException($"{file}: soup state version {manifest.Version} is not supported (this dsoup reads version {CurrentVersion})");
            }
            return manifest;
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{file}: the soup state manifest is damaged ({ex.Message})");
        }
    }

    public static string SumName(string tensor) => "sum/" + tensor;

    public static string ExponentName(string tensor) => "exp/" + tensor;

    public static string CopyName(string tensor) => "copy/" + tensor;
}
