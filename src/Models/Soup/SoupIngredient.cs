using Dsoup.Models.Layouts;

namespace Dsoup.Models.Soup;

/// <summary>A model going into a soup, opened in canonical naming, with the name it is recorded under.</summary>
public sealed class SoupIngredient : IDisposable
{
    private SoupIngredient(string path, ModelCheckpoint checkpoint, string name)
    {
        Path = path;
        Checkpoint = checkpoint;
        Name = name;
    }

    public string Path { get; }

    public ModelCheckpoint Checkpoint { get; }

    /// <summary>The shard/ingredient name recorded in recipes and manifests (the file or folder name by default).</summary>
    public string Name { get; }

    public static SoupIngredient Open(string path, string? name = null) =>
        new(path, ModelCheckpoint.Open(path), name ?? System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(path)));

    public void Dispose() => Checkpoint.Dispose();
}
