namespace Dsoup.Cli.Tests;

/// <summary>`dsoup sample` and `dsoup tokenize` end to end on a synthesized tiny model, and their errors.</summary>
public class SampleCommandTests : IDisposable
{
    private static readonly string? ClipFolder = SharedData.Find("clip");
    private readonly string folder = Directory.CreateTempSubdirectory("dsoup-sample-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private string File(string name) => Path.Combine(folder, name);

    private string TinyModel()
    {
        string path = File("tiny.safetensors");
        if (!System.IO.File.Exists(path))
        {
            Assert.Equal(0, CliRun.Of("synthesize", path, "--family", "tiny").ExitCode);
        }
        return path;
    }

    private CliRun Sample(string output, params string[] extra) => CliRun.Of(
        ["sample", "-m", TinyModel(), "--tokenizer", ClipFolder!, "-p", "a red square", "-W", "64", "-H", "64", "--steps", "3",
         "--device", "cpu", "-o", output, .. extra]);

    [SkippableFact]
    public void WritesPngsWithParametersAndTheSameSeedGivesTheSameBytes()
    {
        Skip.If(ClipFolder is null, "../shared/clip (CLIP's vocabulary) is not beside this checkout");
        CliRun first = Sample(File("a"), "-b", "2", "--seed", "7", "-n", "blurry");
        Assert.Equal(0, first.ExitCode);
        string[] written = first.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, written.Length);
        Assert.Contains("sampling", first.Error);
        string? parameters = Dsoup.Models.Images.PngImages.ReadParameters(written[0]);
        Assert.NotNull(parameters);
        Assert.StartsWith("a red square\nNegative prompt: blurry\nSteps: 3, Sampler: Euler a, CFG scale: 7.5, Seed: 7, Size: 64x64", parameters);

        CliRun second = Sample(File("b"), "-b", "2", "--seed", "7", "-n", "blurry");
        string[] again = second.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(System.IO.File.ReadAllBytes(written[1]), System.IO.File.ReadAllBytes(again[1]));
        CliRun other = Sample(File("c"), "--seed", "8", "-n", "blurry");
        Assert.NotEqual(System.IO.File.ReadAllBytes(written[0]), System.IO.File.ReadAllBytes(other.Output.Trim()));
    }

    [SkippableFact]
    public void ImageToImageReadsTheStartImageAndRefusesABrokenOne()
    {
        Skip.If(ClipFolder is null, "../shared/clip (CLIP's vocabulary) is not beside this checkout");
        CliRun made = Sample(File("start"));
        Assert.Equal(0, made.ExitCode);
        CliRun edited = Sample(File("edit"), "--init-img", made.Output.Trim(), "--strength", "0.5", "--sampler", "ddim");
        Assert.Equal(0, edited.ExitCode);
        Assert.Contains("Denoising strength: 0.5", Dsoup.Models.Images.PngImages.ReadParameters(edited.Output.Trim()));

        byte[] png = System.IO.File.ReadAllBytes(made.Output.Trim());
        System.IO.File.WriteAllBytes(File("truncated.png"), png[..(png.Length / 2)]);
        Sample(File("bad"), "--init-img", File("truncated.png")).AssertCleanFailure("truncated.png");
        System.IO.File.WriteAllText(File("text.png"), "not an image at all");
        Sample(File("bad"), "--init-img", File("text.png")).AssertCleanFailure("text.png");
        Assert.False(Directory.Exists(File("bad")) && Directory.EnumerateFiles(File("bad")).Any());
    }

    [SkippableFact]
    public void ALongPromptWarnsAndIsTruncated()
    {
        Skip.If(ClipFolder is null, "../shared/clip (CLIP's vocabulary) is not beside this checkout");
        string prompt = string.Join(' ', Enumerable.Repeat("cat", 80));
        CliRun run = CliRun.Of("sample", "-m", TinyModel(), "--tokenizer", ClipFolder!, "-p", prompt, "-W", "64", "-H", "64", "--steps", "1",
            "--device", "cpu", "-o", File("long"));
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("the prompt has 80 tokens; only the first 75 are used", run.Error);
    }

    [Fact]
    public void BadInputGetsAClearErrorAndNoOutput()
    {
        string model = TinyModel();
        CliRun.Of("sample", "-m", model, "-p", "x", "--device", "cpu", "-W", "30", "-H", "32", "-o", File("none"))
            .AssertCleanFailure("multiples of 8");
        if (ClipFolder is not null)
        {
            CliRun.Of("sample", "-m", model, "--tokenizer", ClipFolder, "-p", "x", "--device", "cpu", "-W", "32", "-H", "32", "-o", File("none"))
                .AssertCleanFailure("multiple of 64");
        }
        CliRun.Of("sample", "-m", File("missing.safetensors"), "-p", "x", "--device", "cpu", "-o", File("none"))
            .AssertCleanFailure("missing.safetensors");
        CliRun.Of("sample", "-m", model, "-p", "x", "--sampler", "heun").AssertCleanFailure("heun");
        Assert.False(Directory.Exists(File("none")));

        // A file of names no Stable Diffusion layout knows opens in the plain layout and cannot be sampled.
        var header = new Dsoup.Engine.Checkpoints.Safetensors.TensorHeader("model.layers.0.weight", Dsoup.Engine.Checkpoints.StorageType.F32, [2, 2]);
        using (var writer = Dsoup.Engine.Checkpoints.Safetensors.SafetensorsWriter.Create(File("plain.safetensors"), [header], null))
        {
            writer.Write(new byte[16]);
            writer.Commit();
        }
        CliRun.Of("sample", "-m", File("plain.safetensors"), "-p", "x", "--device", "cpu", "-o", File("none"))
            .AssertCleanFailure("not a Stable Diffusion 1.x/2.x model");
    }

    [SkippableFact]
    public void TokenizePrintsIdsAndCounts()
    {
        Skip.If(ClipFolder is null, "../shared/clip (CLIP's vocabulary) is not beside this checkout");
        CliRun run = CliRun.Of("tokenize", "--vocab", ClipFolder!, "a cat", string.Join(' ', Enumerable.Repeat("dog", 76)));
        Assert.Equal(0, run.ExitCode);
        string[] lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("49406 320 2368 49407", lines[0]);
        Assert.Equal("2 tokens", lines[1]);
        Assert.Equal("76 tokens (over 75: the rest is cut)", lines[3]);
    }
}
