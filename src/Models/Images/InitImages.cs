using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Dsoup.Models.Images;

/// <summary>
/// Reads a user's image for image-to-image (or training) under limits, so a hostile or broken file gets a clear
/// error, never a crash or an allocation of gigabytes: its header is read first, and files over
/// <see cref="MaxBytes"/> or images over <see cref="MaxSide"/> pixels a side are refused before decoding.
/// </summary>
public static class InitImages
{
    public const long MaxBytes = 256L << 20;

    public const int MaxSide = 8192;

    /// <summary>The image's size, checked against the limits; the error names the file and the problem.</summary>
    public static (int Width, int Height) Size(string path)
    {
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new FileNotFoundException($"{path}: no such image", path);
        }
        if (file.Length > MaxBytes)
        {
            throw new InvalidDataException($"{path}: {file.Length} bytes; images over {MaxBytes >> 20} MiB are refused");
        }
        IImageInfo? info;
        try
        {
            info = Image.Identify(path);
        }
        catch (Exception e) when (e is ImageFormatException or NotSupportedException or IOException)
        {
            throw new InvalidDataException($"{path}: not a readable image ({e.Message})", e);
        }
        if (info is null)
        {
            throw new InvalidDataException($"{path}: not an image format dsoup reads (PNG, JPEG, BMP, GIF, TGA, TIFF, WebP)");
        }
        if (info.Width < 1 || info.Height < 1 || info.Width > MaxSide || info.Height > MaxSide)
        {
            throw new InvalidDataException($"{path}: {info.Width}×{info.Height} pixels; images must be at most {MaxSide} pixels a side");
        }
        return (info.Width, info.Height);
    }

    /// <summary>RGB [3, height, width] in [0, 1], resized (Lanczos) to the requested size when it differs.</summary>
    public static float[] LoadRgb(string path, int width, int height) => Decode(path, image =>
    {
        if (image.Width != width || image.Height != height)
        {
            image.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(width, height), Sampler = KnownResamplers.Lanczos3, Mode = ResizeMode.Stretch }));
        }
        return ImagePixels.ToPlanar(image);
    });

    /// <summary>A training image: shorter side resized to <paramref name="size"/>, centre-cropped square.</summary>
    public static float[] LoadSquare(string path, int size) => Decode(path, image => ImagePixels.SquareCrop(image, size));

    private static float[] Decode(string path, Func<Image<Rgb24>, float[]> convert)
    {
        Size(path);
        try
        {
            using Image<Rgb24> image = Image.Load<Rgb24>(path);
            return convert(image);
        }
        catch (Exception e) when (e is ImageFormatException or NotSupportedException)
        {
            throw new InvalidDataException($"{path}: the image data is corrupt or truncated ({e.Message})", e);
        }
    }
}
