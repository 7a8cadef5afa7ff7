using Dsoup.Models.Pipelines;
using Dsoup.Models.Synthetic;

namespace Dsoup.Models.Tests.Models;

/// <summary>
/// A full-size SD 1.5 checkpoint in the original single-file layout (every tensor of reference/keys, synthetic
/// values) loads through the key maps and samples on the CPU; the same seed gives the same bytes twice.
/// </summary>
public class FullSizeSamplingTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("dsoup-sd15-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void Sd15SingleFileSamplesA64PixelImageReproducibly()
    {
        string path = Path.Combine(folder, "sd15.safetensors");
        SyntheticCheckpoint.Write(path, new SyntheticOptions(ModelFamily.Sd15, CheckpointLayout.Original, StorageType.F16));
        using StableDiffusionModel model = StableDiffusionModel.Load(path, new ModelLoadOptions { Device = Device.Cpu, WithVaeEncoder = false });
        Assert.Equal(ModelFamily.Sd15.DisplayName, model.FamilyName);
        var pipeline = new TextToImage(model);
        // "a cat" and the empty prompt as SD 1.x's tokenizer pads them (a single file carries no tokenizer).
        int[] cond = [49406, 320, 2368, .. Enumerable.Repeat(49407, 74)], uncond = [49406, .. Enumerable.Repeat(49407, 76)];
        var settings = new GenerationSettings { Width = 64, Height = 64, Steps = 2, Seed = 1, Sampler = "euler_a" };

        GeneratedImages first = pipeline.Generate(cond, uncond, settings);
        GeneratedImages second = pipeline.Generate(cond, uncond, settings);
        Assert.Equal(first.Rgb8(0), second.Rgb8(0));
        Assert.All(first.Pixels, v => Assert.True(float.IsFinite(v)));
        Assert.True(first.Pixels.Distinct().Count() > 100, "the image should not be flat");
    }
}
