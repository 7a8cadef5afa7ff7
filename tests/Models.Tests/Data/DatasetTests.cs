using System.IO.Compression;
using Dsoup.Models.Data;

namespace Dsoup.Models.Tests.Data;

/// <summary>The training datasets and the sharding that splits them across machines.</summary>
public class DatasetTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("dsoup-data-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [SkippableFact]
    public void FashionMnistReadsTheDebianPackage()
    {
        Skip.IfNot(File.Exists(Path.Combine(FashionMnist.DefaultFolder, "train-images-idx3-ubyte.gz")),
            "dataset-fashion-mnist is not installed (.ci/run installs it)");
        IReadOnlyList<TrainingExample> train = FashionMnist.Load();
        Assert.Equal(60000, train.Count);
        Assert.Equal(10000, FashionMnist.Load(test: true).Count);
        // The first training image is an ankle boot (Fashion-MNIST's README).
        Assert.Equal("a photo of an ankle boot", train[0].Caption);
        Assert.Equal("ankle boot", train[0].Label);
        float[] pixels = train[0].Load(32);
        Assert.Equal(3 * 32 * 32, pixels.Length);
        Assert.InRange(pixels.Average(), 0.05, 0.9);
        Assert.Equal(10, train.Select(e => e.Label).Distinct().Count());
    }

    [Theory]
    [InlineData("bad-magic")]
    [InlineData("truncated")]
    [InlineData("count-overflow")]
    [InlineData("not-gzip")]
    public void AHostileIdxFileIsRefusedByName(string damage)
    {
        var images = new byte[16 + 2 * 4];
        Write(images, 0, damage == "bad-magic" ? 0x0804 : 0x0803);
        Write(images, 4, damage == "count-overflow" ? int.MaxValue : 2);
        Write(images, 8, 2);
        Write(images, 12, 2);
        if (damage == "truncated")
        {
            images = images[..20];
        }
        var labels = new byte[8 + 2];
        Write(labels, 0, 0x0801);
        Write(labels, 4, 2);
        Gzip(Path.Combine(folder, "train-images-idx3-ubyte.gz"), images, damage == "not-gzip");
        Gzip(Path.Combine(folder, "train-labels-idx1-ubyte.gz"), labels, false);
        var e = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(folder));
        Assert.Contains("train-images-idx3-ubyte.gz", e.Message);
    }

    [Fact]
    public void ShardsAreDisjointCompleteAndTheSameEverywhere()
    {
        IReadOnlyList<TrainingExample> all = EmbeddedImages.Load(200);
        var byName = Enumerable.Range(0, 4).Select(k => Sharding.Select(all, k, 4).Select(e => e.Name).ToList()).ToList();
        Assert.Equal(200, byName.Sum(s => s.Count));
        Assert.Equal(200, byName.SelectMany(s => s).Distinct().Count());
        Assert.All(byName, s => Assert.InRange(s.Count, 25, 75));
        // FNV-1a of the name, independent of the process: embedded/0 hashes to a fixed shard.
        Assert.Equal(Sharding.StableHash("embedded/0") % 4, (ulong)byName.FindIndex(s => s.Contains("embedded/0")));

        var byLabel = Enumerable.Range(0, 2).Select(k => Sharding.Select(all, k, 2, by: "label")).ToList();
        // Sorted labels circle, cross, square, triangle dealt round-robin.
        Assert.Equal(["circle", "square"], byLabel[0].Select(e => e.Label!).Distinct().Order());
        Assert.Equal(["cross", "triangle"], byLabel[1].Select(e => e.Label!).Distinct().Order());
        Assert.Throws<ArgumentOutOfRangeException>(() => Sharding.Select(all, 4, 4));
    }

    [Fact]
    public void StyleFiltersSubsamplesAndTheHeldBackStylePair()
    {
        IReadOnlyList<TrainingExample> all = EmbeddedImages.Load();
        Assert.DoesNotContain(all, e => e.Caption.Contains("red", StringComparison.Ordinal) && e.Caption.Contains("stripes", StringComparison.Ordinal));
        Assert.DoesNotContain(Datasets.Open("embedded:test"), e => e.Caption.Contains("red", StringComparison.Ordinal) && e.Caption.Contains("stripes", StringComparison.Ordinal));
        var red = Datasets.WithCaptionWords(all, ["red"]);
        var stripes = Datasets.WithCaptionWords(all, ["stripes"]);
        Assert.All(red, e => Assert.StartsWith("a red ", e.Caption));
        Assert.All(stripes, e => Assert.EndsWith(" with stripes", e.Caption));
        Assert.Equal(red.Count + stripes.Count, Datasets.WithCaptionWords(all, ["red|stripes"]).Count);
        Assert.Empty(Datasets.WithCaptionWords(all, ["red", "stripes"]));
        Assert.Empty(Datasets.WithCaptionWords(all, ["re"])); // whole words only

        var every7th = Sharding.Subsample(all, 73);
        Assert.Equal(73, every7th.Count);
        Assert.Equal(73, every7th.Distinct().Count());
        Assert.Same(all[0], every7th[0]);
        Assert.Same(all, Sharding.Subsample(all, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sharding.Subsample(all, -1));
    }

    [Fact]
    public void AFolderPairsImagesWithCaptionsAndRefusesACaptionWithoutAnImage()
    {
        float[] red = EmbeddedImages.Draw(EmbeddedImages.AttributesOf(0), 16);
        var rgb = new byte[16 * 16 * 3];
        for (int p = 0; p < 256; p++)
            for (int c = 0; c < 3; c++)
                rgb[p * 3 + c] = (byte)(red[c * 256 + p] * 255);
        Dsoup.Models.Images.PngImages.Save(Path.Combine(folder, "one.png"), rgb, 16, 16, null);
        File.WriteAllText(Path.Combine(folder, "one.txt"), "  a red circle \n");
        TrainingExample example = Assert.Single(ImageFolder.Load(folder));
        Assert.Equal("a red circle", example.Caption);
        Assert.Equal(3 * 8 * 8, example.Load(8).Length);

        File.WriteAllText(Path.Combine(folder, "two.txt"), "a blue square");
        Assert.Contains("two.txt", Assert.Throws<InvalidDataException>(() => ImageFolder.Load(folder)).Message);

        File.Delete(Path.Combine(folder, "two.txt"));
        File.WriteAllText(Path.Combine(folder, "metadata.jsonl"), "{\"file_name\": \"one.png\", \"text\": \"from jsonl\"}\n{\"file_name\": \"../escape.png\", \"text\": \"x\"}\n");
        Assert.Contains("metadata.jsonl:2", Assert.Throws<InvalidDataException>(() => ImageFolder.Load(folder)).Message);
    }

    private static void Write(byte[] data, int at, int value) => System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(at), value);

    private static void Gzip(string path, byte[] data, bool raw)
    {
        if (raw)
        {
            File.WriteAllBytes(path, data);
            return;
        }
        using var stream = new GZipStream(File.Create(path), CompressionLevel.Fastest);
        stream.Write(data);
    }
}
