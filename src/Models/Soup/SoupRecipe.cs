using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dsoup.Models.Soup;

/// <summary>An ingredient as a recipe records it.</summary>
public sealed record RecipeIngredient(string Name, double Weight, string Hash);

/// <summary>
/// The recipe written into a soup's __metadata__ ("dsoup.recipe"): method, the parameters that method
/// uses, key policy, EMA policy and filters, every ingredient with its weight and content hash, and the
/// engine version. For order-independent methods the ingredients are listed by hash, so a soup has the
/// same recipe however its ingredients were ordered, added or removed.
/// </summary>
public static class SoupRecipe
{
    public const string MetadataKey = "dsoup.recipe";

    public static string Json(SoupOptions options, IReadOnlyList<RecipeIngredient> ingredients, RecipeIngredient? baseModel, RecipeIngredient? fallback,
        IReadOnlyList<RecipeIngredient>? loras = null)
    {
        bool commutative = options.Method is SoupMethod.Uniform or SoupMethod.Weighted;
        IEnumerable<RecipeIngredient> listed = commutative
            ? ingredients.OrderBy(i => i.Hash, StringComparer.Ordinal).ThenBy(i => i.Name, StringComparer.Ordinal).ThenBy(i => i.Weight)
            : ingredients;
        var recipe = new JsonObject { ["method"] = options.Method.Name() };
        switch (options.Method)
        {
            case SoupMethod.TaskArithmetic:
                recipe["lambda"] = options.Lambda;
                break;
            case SoupMethod.Ties:
                recipe["lambda"] = options.Lambda;
                recipe["density"] = options.Density;
                recipe["ties_sign"] = "total mass of trimmed deltas, 0 counts as +";
                break;
            case SoupMethod.Dare:
                recipe["lambda"] = options.Lambda;
                recipe["drop_rate"] = options.DropRate;
                recipe["rescale"] = "1/(1-p)";
                recipe["seed"] = options.Seed.ToString(CultureInfo.InvariantCulture);
                recipe["rng"] = "philox4x32-10(key=seed, counter=(element/4, input, fnv1a(name)))";
                break;
            case SoupMethod.AddDifference:
                recipe["alpha"] = options.Alpha;
                break;
        }
        recipe["keys"] = options.KeyPolicy.ToString().ToLowerInvariant();
        recipe["ema"] = options.Ema.ToString().ToLowerInvariant();
        if (options.Filter.Include.Count > 0)
        {
            recipe["include"] = new JsonArray(options.Filter.Include.Select(p => (JsonNode)p!).ToArray());
        }
        if (options.Filter.Exclude.Count > 0)
        {
            recipe["exclude"] = new JsonArray(options.Filter.Exclude.Select(p => (JsonNode)p!).ToArray());
        }
        recipe["ingredients"] = new JsonArray(listed.Select(Node).ToArray());
        if (baseModel is not null)
        {
            recipe["base"] = Node(baseModel);
        }
        if (fallback is not null)
        {
            recipe["fallback"] = Node(fallback);
        }
        if (loras is { Count: > 0 })
        {
            // Applied after the soup, in this order; "weight" is the strength.
            recipe["loras"] = new JsonArray(loras.Select(Node).ToArray());
            recipe["lora_formula"] = "W + sum_j strength_j * (alpha/r) * B_j A_j";
        }
        if (options.Selection is not null)
        {
            recipe["selection"] = JsonNode.Parse(options.Selection);
        }
        recipe["engine"] = EngineVersion.Text;
        return recipe.ToJsonString();
    }

    /// <summary>Output metadata: what every ingredient's metadata shares, "format": "pt", the recipe and the engine version, sorted by key.</summary>
    public static SortedDictionary<string, string> Metadata(IReadOnlyDictionary<string, string> common, string recipe)
    {
        var metadata = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach ((string key, string value) in common)
        {
            metadata[key] = value;
        }
        metadata.TryAdd("format", "pt");
        metadata[MetadataKey] = recipe;
        metadata["dsoup.version"] = EngineVersion.Text;
        return metadata;
    }

    /// <summary>A model's own metadata: everything but the dsoup.* entries an earlier soup wrote.</summary>
    public static SortedDictionary<string, string> OwnMetadata(IReadOnlyDictionary<string, string> metadata) =>
        new(metadata.Where(e => !e.Key.StartsWith("dsoup.", StringComparison.Ordinal)).ToDictionary(e => e.Key, e => e.Value), StringComparer.Ordinal);

    private static JsonNode Node(RecipeIngredient i) => new JsonObject
    {
        ["name"] = i.Name,
        ["weight"] = i.Weight,
        ["hash"] = i.Hash,
    };
}
