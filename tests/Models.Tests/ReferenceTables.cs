namespace Dsoup.Models.Tests;

/// <summary>
/// The key tables in ../shared/reference/keys (every tensor of the SD 1.5 / 2.1 UNet, the VAE and both
/// text encoders, in both layouts): the oracle for the architecture specs and key maps. Tests that
/// need them skip, saying so, where ../shared is not beside the checkout.
/// </summary>
public static class ReferenceTables
{
    public sealed record Row(string Diffusers, string Original, long[] Shape, long[]? OriginalShape);

    public static string? Folder { get; } = SharedData.Find(Path.Combine("reference", "keys"));

    public static IReadOnlyList<Row> Load(string file)
    {
        Skip.If(Folder is null, "../shared/reference/keys is not beside this checkout; the key-table tests need it");
        return File.ReadAllLines(Path.Combine(Folder!, file)).Skip(1)
            .Select(line => line.Split('\t'))
            .Where(cols => !cols[0].StartsWith('('))
            .Select(cols => new Row(cols[0], cols[1], ParseShape(cols[2]), cols.Length > 3 && cols[3].Length > 0 ? ParseShape(cols[3]) : null))
            .ToList();
    }

    /// <summary>Reads a table with only (original key, shape) columns.</summary>
    public static IReadOnlyList<(string Original, long[] Shape)> LoadOriginal(string file)
    {
        Skip.If(Folder is null, "../shared/reference/keys is not beside this checkout; the key-table tests need it");
        return File.ReadAllLines(Path.Combine(Folder!, file)).Skip(1)
            .Select(line => line.Split('\t'))
            .Select(cols => (cols[0], ParseShape(cols[1])))
            .ToList();
    }

    public static long[] ParseShape(string text) =>
        text.Trim('[', ']', ' ').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
}
