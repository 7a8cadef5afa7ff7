using System.Runtime.InteropServices;
using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Engine.Random;
using Dsoup.Models.Pipelines;

namespace Dsoup.Models.Tests.Models;

/// <summary>
/// Whole sampling runs against diffusers' StableDiffusionPipeline and StableDiffusionImg2ImgPipeline on the tiny
/// folders (Fixtures/models/*/pipeline.safetensors, made by make_model_fixtures.py): the folder's own scheduler
/// config, guidance, a batch drawn from one torch CPU generator, ancestral noise from the same stream, and the
/// VAE decode — pixels compared in [0, 1]. On the CPU backend for both folders, and on the ILGPU kernels for one
/// text-to-image run (the modules are checked there by ModelFixtureTests; a whole run on the simulator takes minutes).
/// </summary>
public class PipelineFixtureTests
{
    public static TheoryData<string> Names() => new(ModelFixture.Names);

    [Fact]
    public void TextToImageMatchesDiffusersOnTheIlgpuKernels()
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "models", "sd1-tiny");
        using SafetensorsReader io = SafetensorsReader.Open(Path.Combine(folder, "pipeline.safetensors"));
        using StableDiffusionModel model = StableDiffusionModel.Load(folder, new ModelLoadOptions { Device = Device.Get("ilgpu-cpu"), WithVaeEncoder = false });
        GeneratedImages images = new TextToImage(model).Generate(Ints(io, "cond_ids"), Ints(io, "uncond_ids"), Settings("sd1-tiny").TextToImage);
        ModelFixture.AssertClose(Floats(io, "text2img"), ToHwc(images), 1e-4, "sd1-tiny text-to-image on ilgpu-cpu");
    }

    /// <summary>--vae: another model's VAE decodes (its own folder gives the same pixels; another's, other pixels).</summary>
    [Fact]
    public void AnotherVaeCanBeSwappedIn()
    {
        string fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "models");
        string folder = Path.Combine(fixtures, "sd1-tiny");
        using SafetensorsReader io = SafetensorsReader.Open(Path.Combine(folder, "pipeline.safetensors"));
        GenerationSettings settings = Settings("sd1-tiny").TextToImage;
        float[] Run(string? vae)
        {
            using StableDiffusionModel model = StableDiffusionModel.Load(folder, new ModelLoadOptions { Device = Device.Cpu, VaePath = vae });
            return new TextToImage(model).Generate(Ints(io, "cond_ids"), Ints(io, "uncond_ids"), settings).Pixels;
        }
        float[] own = Run(null);
        Assert.Equal(own, Run(Path.Combine(folder, "vae")));
        Assert.NotEqual(own, Run(Path.Combine(fixtures, "sd2-tiny", "vae")));
        Assert.Throws<InvalidDataException>(() => Run(Path.Combine(fixtures, "sd2-tiny", "unet")));
    }

    /// <summary>The settings make_model_fixtures.py ran each folder with.</summary>
    private static (GenerationSettings TextToImage, GenerationSettings ImageToImage) Settings(string name) => name == "sd1-tiny"
        ? (new() { Steps = 4, CfgScale = 5f, Batch = 2, Seed = 42, Width = 16, Height = 16, Rng = NoiseRng.TorchCpu },
           new() { Steps = 5, CfgScale = 3f, Seed = 43, Width = 16, Height = 16, Rng = NoiseRng.TorchCpu, Sampler = "euler", Strength = 0.6f })
        : (new() { Steps = 4, CfgScale = 5f, Batch = 1, Seed = 7, Width = 16, Height = 16, Rng = NoiseRng.TorchCpu },
           new() { Steps = 5, CfgScale = 3f, Seed = 8, Width = 16, Height = 16, Rng = NoiseRng.TorchCpu, Sampler = "dpm++2m", Strength = 0.6f });

    [Theory]
    [MemberData(nameof(Names))]
    public void TextToImageAndImageToImageMatchDiffusers(string name)
    {
        const string deviceName = "cpu";
        string folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "models", name);
        using SafetensorsReader io = SafetensorsReader.Open(Path.Combine(folder, "pipeline.safetensors"));
        using StableDiffusionModel model = StableDiffusionModel.Load(folder, new ModelLoadOptions { Device = Device.Get(deviceName) });
        var pipeline = new TextToImage(model);
        int[] cond = Ints(io, "cond_ids"), uncond = Ints(io, "uncond_ids");
        (GenerationSettings textToImage, GenerationSettings imageToImage) = Settings(name);

        GeneratedImages images = pipeline.Generate(cond, uncond, textToImage);
        ModelFixture.AssertClose(Floats(io, "text2img"), ToHwc(images), 1e-4, $"{name} text-to-image on {deviceName}");

        GeneratedImages edited = pipeline.Generate(cond, uncond, imageToImage with { InitImage = Floats(io, "img2img.init") });
        ModelFixture.AssertClose(Floats(io, "img2img"), ToHwc(edited), 1e-4, $"{name} image-to-image on {deviceName}");
    }

    /// <summary>[B, 3, H, W] → diffusers' "np" layout [B, H, W, 3].</summary>
    private static float[] ToHwc(GeneratedImages images)
    {
        int plane = images.Width * images.Height;
        var hwc = new float[images.Pixels.Length];
        for (int b = 0; b < images.Batch; b++)
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < plane; p++)
                    hwc[(b * plane + p) * 3 + c] = images.Pixels[(b * 3 + c) * plane + p];
        return hwc;
    }

    private static float[] Floats(SafetensorsReader io, string name)
    {
        TensorEntry entry = io.Tensors.Single(t => t.Name == name);
        return MemoryMarshal.Cast<byte, float>(entry.Bytes(0, (int)entry.ByteLength)).ToArray();
    }

    private static int[] Ints(SafetensorsReader io, string name)
    {
        TensorEntry entry = io.Tensors.Single(t => t.Name == name);
        return MemoryMarshal.Cast<byte, int>(entry.Bytes(0, (int)entry.ByteLength)).ToArray();
    }
}
