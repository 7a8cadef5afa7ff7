using System.Text.Json;
using Dsoup.Models.Images;

namespace Dsoup.Models.Data;

/// <summary>
/// A folder of images with captions: same-named <c>.txt</c> files beside the images, or a <c>metadata.jsonl</c>
/// of {"file_name", "text"} lines (diffusers' ImageFolder convention). Every caption must have its image; an
/// image that cannot be read is skipped at load time with a warning that names it.
/// </summary>
public static class ImageFolder
{
    public static readonly IReadOnlyList<string> Extensions = [".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tga", ".tif", ".tiff"];

    public static IReadOnlyList<TrainingExample> Load(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"{folder}: no such folder (--data takes a folder of images and captions, fashion-mnist or embedded)");
        }
        string metadata = Path.Combine(folder, "metadata.jsonl");
        IReadOnlyList<TrainingExample> examples = File.Exists(metadata) ? FromMetadata(folder, metadata) : FromCaptionFiles(folder);
        if (examples.Count == 0)
        {
            throw new InvalidDataException($"{folder}: no captioned images (images with same-named .txt captions, or a metadata.jsonl)");
        }
        return examples;
    }

    private static IReadOnlyList<TrainingExample> FromCaptionFiles(string folder)
    {
        var images = Directory.EnumerateFiles(folder)
            .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .ToDictionary(f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal);
        var examples = new List<TrainingExample>();
        foreach (string caption in Directory.EnumerateFiles(folder, "*.txt").Order(StringComparer.Ordinal))
        {
            string stem = Path.GetFileNameWithoutExtension(caption);
            if (!images.TryGetValue(stem, out string? image))
            {
                throw new InvalidDataException($"{caption}: a caption without an image (expected {stem} with one of {string.Join(" ", Extensions)})");
            }
            examples.Add(Example(folder, image, File.ReadAllText(caption).Trim()));
        }
        return examples;
    }

    private static IReadOnlyList<TrainingExample> FromMetadata(string folder, string metadata)
    {
        var examples = new List<TrainingExample>();
        int line = 0;
        foreach (string text in File.ReadLines(metadata))
        {
            line++;
            if (text.Trim().Length == 0)
            {
                continue;
            }
            string? file, caption;
            try
            {
                JsonElement row = JsonDocument.Parse(text).RootElement;
                file = row.TryGetProperty("file_name", out JsonElement f) ? f.GetString() : null;
                caption = row.TryGetProperty("text", out JsonElement t) ? t.GetString() : null;
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{metadata}:{line}: not a JSON object ({e.Message})", e);
            }
            if (file is null || caption is null)
            {
                throw new InvalidDataException($"{metadata}:{line}: needs \"file_name\" and \"text\"");
            }
            string path = Path.GetFullPath(Path.Combine(folder, file));
            if (!path.StartsWith(Path.GetFullPath(folder), StringComparison.Ordinal) || !File.Exists(path))
            {
                throw new InvalidDataException($"{metadata}:{line}: a caption without an image ({file} is not inside {folder})");
            }
            examples.Add(Example(folder, path, caption));
        }
        return examples;
    }

    private static TrainingExample Example(string folder, string path, string caption) =>
        new(Path.GetRelativePath(folder, path).Replace('\\', '/'), caption, null, size => InitImages.LoadSquare(path, size));
}
