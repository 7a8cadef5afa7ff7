namespace Dsoup.Models.Images;

/// <summary>Lays square RGB images ([3, size, size] in [0, 1]) out in a grid and saves it as one PNG.</summary>
public static class ImageGrid
{
    public static void Save(string path, IReadOnlyList<float[]> images, int size, int columns, string? parameters = null)
    {
        if (images.Count == 0)
        {
            throw new ArgumentException("a grid needs at least one image");
        }
        columns = Math.Min(columns, images.Count);
        int rows = (images.Count + columns - 1) / columns, width = columns * size, height = rows * size, plane = size * size;
        var rgb = new byte[width * height * 3];
        Array.Fill(rgb, (byte)255);
        for (int n = 0; n < images.Count; n++)
        {
            int left = n % columns * size, top = n / columns * size;
            for (int y = 0; y < size; y++)
            {
                for (int x = 0; x < size; x++)
                {
                    for (int c = 0; c < 3; c++)
                    {
                        float v = Math.Clamp(images[n][c * plane + y * size + x], 0f, 1f);
                        rgb[((top + y) * width + left + x) * 3 + c] = (byte)MathF.Round(v * 255f, MidpointRounding.ToEven);
                    }
                }
            }
        }
        PngImages.Save(path, rgb, width, height, parameters);
    }
}
