using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Dsoup.Models.Images;

/// <summary>Between ImageSharp images and the planar RGB floats in [0, 1] the models read.</summary>
public static class ImagePixels
{
    /// <summary>RGB [3, height, width] in [0, 1].</summary>
    public static float[] ToPlanar(Image<Rgb24> image)
    {
        int width = image.Width, height = image.Height, plane = width * height;
        var pixels = new float[3 * plane];
        image.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < height; y++)
            {
                Span<Rgb24> row = rows.GetRowSpan(y);
                for (int x = 0; x < width; x++)
                {
                    pixels[y * width + x] = row[x].R / 255f;
                    pixels[plane + y * width + x] = row[x].G / 255f;
                    pixels[2 * plane + y * width + x] = row[x].B / 255f;
                }
            }
        });
        return pixels;
    }

    /// <summary>Resized so the shorter side is <paramref name="size"/> (bilinear, as diffusers' training transforms), then centre-cropped square.</summary>
    public static float[] SquareCrop(Image<Rgb24> image, int size)
    {
        image.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(size, size), Mode = ResizeMode.Crop, Sampler = KnownResamplers.Triangle }));
        return ToPlanar(image);
    }
}
