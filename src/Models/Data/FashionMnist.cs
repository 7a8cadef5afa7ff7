using System.Buffers.Binary;
using System.IO.Compression;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Dsoup.Models.Images;

namespace Dsoup.Models.Data;

/// <summary>
/// Fashion-MNIST (Zalando; Debian's <c>dataset-fashion-mnist</c>) from its gzipped IDX files: 28×28 grayscale
/// garments in 10 classes, captioned "a photo of a/an {class}", labelled by class (for <c>--shard-by label</c>).
/// Headers are validated against the data's length, so a truncated or hostile file is refused by name.
/// </summary>
public static class FashionMnist
{
    public const string DefaultFolder = "/usr/share/datasets/fashion-mnist";

    public static readonly IReadOnlyList<string> Classes =
        ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"];

    /// <summary>The train (60 000) or test (10 000) split.</summary>
    public static IReadOnlyList<TrainingExample> Load(string folder = DefaultFolder, bool test = false)
    {
        string prefix = test ? "t10k" : "train";
        string imagesPath = Path.Combine(folder, $"{prefix}-images-idx3-ubyte.gz"), labelsPath = Path.Combine(folder, $"{prefix}-labels-idx1-ubyte.gz");
        foreach (string path in new[] { imagesPath, labelsPath })
        {
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"{path}: Fashion-MNIST is not installed here (apt-get install dataset-fashion-mnist, or point at a folder of its IDX files)", path);
            }
        }
        byte[] images = ReadGzip(imagesPath), labels = ReadGzip(labelsPath);
        int count = Header(images, imagesPath, 0x0803, 16, out int rows, out int columns);
        int labelCount = Header(labels, labelsPath, 0x0801, 8, out _, out _);
        if (labelCount != count)
        {
            throw new InvalidDataException($"{labelsPath}: {labelCount} labels for {count} images in {imagesPath}");
        }
        int pixels = rows * columns;
        var examples = new TrainingExample[count];
        for (int i = 0; i < count; i++)
        {
            int label = labels[8 + i];
            if (label >= Classes.Count)
            {
                throw new InvalidDataException($"{labelsPath}: label {label} at {i} is not one of the 10 classes");
            }
            int start = 16 + i * pixels;
            string name = Classes[label];
            examples[i] = new TrainingExample($"fashion-mnist/{prefix}/{i}", $"a photo of {Article(name)} {name}", name,
                size => Square(images.AsSpan(start, pixels), columns, rows, size));
        }
        return examples;
    }

    private static string Article(string noun) => "aeiou".Contains(noun[0]) ? "an" : "a";

    private static float[] Square(ReadOnlySpan<byte> gray, int width, int height, int size)
    {
        using var image = new Image<Rgb24>(width, height);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                byte v = gray[y * width + x];
                image[x, y] = new Rgb24(v, v, v);
            }
        }
        return ImagePixels.SquareCrop(image, size);
    }

    private static byte[] ReadGzip(string path)
    {
        try
        {
            using var stream = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            return memory.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: not a gzip stream ({e.Message})", e);
        }
    }

    /// <summary>The item count, after checking the magic number and that the data holds every item the header claims.</summary>
    private static int Header(byte[] data, string path, int magic, int headerBytes, out int rows, out int columns)
    {
        if (data.Length < headerBytes || BinaryPrimitives.ReadInt32BigEndian(data) != magic)
        {
            throw new InvalidDataException($"{path}: not an IDX file of the expected kind (magic 0x{magic:X8})");
        }
        int count = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4));
        rows = headerBytes > 8 ? BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(8)) : 1;
        columns = headerBytes > 8 ? BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(12)) : 1;
        long expected = headerBytes + (long)count * rows * columns;
        if (count < 0 || rows < 1 || columns < 1 || rows > 4096 || columns > 4096 || data.Length != expected)
        {
            throw new InvalidDataException($"{path}: the header claims {count} items of {rows}×{columns}, but the file holds {data.Length - headerBytes} data bytes");
        }
        return count;
    }
}
