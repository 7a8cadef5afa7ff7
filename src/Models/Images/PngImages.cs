using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace Dsoup.Models.Images;

/// <summary>Writes generated images as PNG with their generation parameters in a "parameters" text chunk (A1111's, which other tools read).</summary>
public static class PngImages
{
    /// <summary>Writes 8-bit RGB pixels to <paramref name="path"/> through a temporary file, so a crash never leaves half a PNG.</summary>
    public static void Save(string path, byte[] rgb, int width, int height, string? parameters)
    {
        using Image<Rgb24> image = Image.LoadPixelData<Rgb24>(rgb, width, height);
        if (parameters is not null)
        {
            image.Metadata.GetPngMetadata().TextData.Add(new PngTextData("parameters", parameters, string.Empty, string.Empty));
        }
        string temporary = path + ".partial";
        using (FileStream stream = File.Create(temporary))
        {
            image.Save(stream, new PngEncoder());
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>The "parameters" text of a PNG written by this or another tool, or null.</summary>
    public static string? ReadParameters(string path)
    {
        using Image image = Image.Load(path);
        return image.Metadata.GetPngMetadata().TextData.FirstOrDefault(t => t.Keyword == "parameters").Value;
    }
}
