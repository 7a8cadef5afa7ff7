using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dsoup.Models.Soup;

/// <summary>An ingredient of a soup state: content hash, name, whole-number weight and its own metadata.</summary>
public sealed record StateIngredient(string Hash, string Name, long Weight, SortedDictionary<string, string> Metadata);

/// <summary>A tensor a soup state covers: its output dtype and shape.</summary>
public sealed record StateTensor(string DType, long[] Shape);

/// <summary>A tensor of the soup file: its name and shape there, and the canonical tensors it is made of, in order.</summary>
public sealed record StateOutputTensor(string Name, long[] Shape, string[] Parts);

/// <summary>
/// What a soup state file records in its __metadata__ ("dsoup.state") besides the sums: the recipe
/// parts that must stay fixed across add/remove, every tensor's output dtype and shape, the soup
/// file's tensor names, and the ingredients (sorted by hash, so equal soups have equal state files
/// whatever their history). Version 2 stores block sums packed at the width they need.
/// </summary>
public sealed record SoupStateManifest(
    int Version,
    string Ema,
    string[] Include,
    string[] Exclude,
    long TotalWeight,
    SortedDictionary<string, StateTensor> Tensors,
    List<StateOutputTensor> Output,
    List<StateIngredient> Ingredients)
{
    public const string MetadataKey = "dsoup.state";

    public const int CurrentVersion = 2;

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
                throw new InvalidDataException($"{file}: soup state version {manifest.Version} is not supported (this dsoup reads version {CurrentVersion}); " +
                    "rebuild the state from its ingredients with dsoup soup --state");
            }
            if (manifest.Tensors is null || manifest.Output is null || manifest.Ingredients is null || manifest.Output.Any(o => o.Name is null || o.Shape is null || o.Parts is null || o.Parts.Any(p => !manifest.Tensors.ContainsKey(p))))
            {
                throw new JsonException("tensors, output or ingredients are missing or disagree");
            }
            return manifest;
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{file}: the soup state manifest is damaged ({ex.Message})");
        }
    }

    public static string SumName(string tensor) => "sum/" + tensor;

    public static string BlocksName(string tensor) => "blocks/" + tensor;

    public static string CopyName(string tensor) => "copy/" + tensor;
}
