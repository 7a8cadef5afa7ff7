using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dsoup.Cli.Commands;

/// <summary>
/// A soup described in a JSON file (dsoup soup --recipe FILE), with the same names as the flags:
/// {"inputs": [{"path": "a.safetensors", "weight": 1}, ...], "method": "ties", "base": "base.safetensors",
///  "lambda": 1, "density": 0.2, "drop_rate": 0.5, "seed": 0, "alpha": 1, "keys": "strict",
///  "fallback": null, "include": [], "exclude": [], "ema": "drop", "dtype": null, "layout": null,
///  "max_memory": "256MiB", "output": "soup.safetensors", "state": null,
///  "loras": ["style.safetensors:0.8"]}. Flags given on the command line win.
/// </summary>
internal sealed record SoupRecipeFile(
    List<SoupRecipeFile.Input> Inputs,
    string? Method = null,
    string? Base = null,
    double? Lambda = null,
    double? Density = null,
    double? DropRate = null,
    ulong? Seed = null,
    double? Alpha = null,
    string? Keys = null,
    string? Fallback = null,
    List<string>? Include = null,
    List<string>? Exclude = null,
    string? Ema = null,
    string? Dtype = null,
    string? Layout = null,
    string? MaxMemory = null,
    string? Output = null,
    string? State = null,
    List<string>? Loras = null)
{
    public sealed record Input(string Path, double? Weight = null, string? Name = null);

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static SoupRecipeFile Load(string path)
    {
        try
        {
            SoupRecipeFile recipe = JsonSerializer.Deserialize<SoupRecipeFile>(File.ReadAllText(path), Options)
                ?? throw new JsonException("the file is empty");
            if (recipe.Inputs is null || recipe.Inputs.Count == 0)
            {
                throw new JsonException("\"inputs\" must list at least one model");
            }
            // Paths in a recipe are relative to the recipe's folder.
            string folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
            string Resolve(string p) => System.IO.Path.IsPathRooted(p) ? p : System.IO.Path.Combine(folder, p);
            return recipe with
            {
                Inputs = recipe.Inputs.Select(i => i with { Path = Resolve(i.Path) }).ToList(),
                Base = recipe.Base is null ? null : Resolve(recipe.Base),
                Fallback = recipe.Fallback is null ? null : Resolve(recipe.Fallback),
                Output = recipe.Output is null ? null : Resolve(recipe.Output),
                State = recipe.State is null ? null : Resolve(recipe.State),
                Loras = recipe.Loras?.Select(Resolve).ToList(),
            };
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not a valid soup recipe: {ex.Message}");
        }
    }
}
