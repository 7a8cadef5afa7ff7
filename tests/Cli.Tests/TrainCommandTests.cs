using System.Diagnostics;

namespace Dsoup.Cli.Tests;

/// <summary>`dsoup train` as users run it: a run killed mid-way and resumed ends with the bytes of an uninterrupted one; bad input fails first.</summary>
public class TrainCommandTests : IDisposable
{
    private static readonly string? ClipFolder = SharedData.Find("clip");
    private readonly string folder = Directory.CreateTempSubdirectory("dsoup-train-cli-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private string File(string name) => Path.Combine(folder, name);

    private string Base()
    {
        string path = File("base.safetensors");
        if (!System.IO.File.Exists(path))
        {
            Assert.Equal(0, CliRun.Of("synthesize", path, "--family", "tiny", "--trainable", "--dtype", "f32").ExitCode);
        }
        return path;
    }

    private string[] TrainArgs(string run, int steps) =>
        ["train", "-m", Base(), "--tokenizer", ClipFolder!, "--data", "embedded", "--shard", "2", "--of", "8", "--shard-by", "name",
         "--steps", steps.ToString(), "--batch", "2", "--resolution", "64", "--lr", "1e-3", "--checkpoint-every", "5", "--ema", "--random-flip",
         "--caption-dropout", "0.2", "--device", "cpu", "-o", run];

    [SkippableFact]
    public void AKilledRunResumesToTheSameBytesAsAnUninterruptedOne()
    {
        Skip.If(ClipFolder is null, "../shared/clip (CLIP's vocabulary) is not beside this checkout");
        CliRun whole = CliRun.Of(TrainArgs(File("whole"), 30));
        Assert.Equal(0, whole.ExitCode);

        // The same run in another process, killed once its second checkpoint is on disk.
        string killed = File("killed");
        using (Process child = Process.Start(new ProcessStartInfo(DotnetHost(), [Path.Combine(AppContext.BaseDirectory, "dsoup.dll"), .. TrainArgs(killed, 30)])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!)
        {
            child.BeginErrorReadLine();
            child.BeginOutputReadLine();
            var clock = Stopwatch.StartNew();
            while (!System.IO.File.Exists(Path.Combine(killed, "checkpoint-0000010.safetensors")) && clock.Elapsed < TimeSpan.FromMinutes(3))
            {
                Assert.False(child.HasExited, "the child run ended before it could be killed");
                Thread.Sleep(20);
            }
            child.Kill(entireProcessTree: true);
            child.WaitForExit();
        }
        Assert.False(System.IO.File.Exists(Path.Combine(killed, "model.safetensors")), "the run was killed after it finished; nothing was tested");
        Assert.All(Directory.EnumerateFiles(killed, "checkpoint-*.safetensors"), path => Assert.True(new FileInfo(path).Length > 0));

        CliRun resumed = CliRun.Of([.. TrainArgs(killed, 30), "--resume"]);
        Assert.Equal(0, resumed.ExitCode);
        Assert.Contains("resumed from step", resumed.Error);
        Assert.Equal(System.IO.File.ReadAllBytes(Path.Combine(File("whole"), "model.safetensors")), System.IO.File.ReadAllBytes(Path.Combine(killed, "model.safetensors")));
        Assert.Equal(System.IO.File.ReadAllLines(Path.Combine(File("whole"), "loss.csv")), System.IO.File.ReadAllLines(Path.Combine(killed, "loss.csv")));
    }

    [SkippableFact]
    public void BadInputFailsBeforeAnyTraining()
    {
        Skip.If(ClipFolder is null, "../shared/clip (CLIP's vocabulary) is not beside this checkout");
        string[] Args(params string[] extra) => ["train", "-m", Base(), "--tokenizer", ClipFolder!, "--steps", "2", "--resolution", "64", "--device", "cpu", .. extra];

        CliRun.Of(Args("--data", "embedded", "--shard", "4", "--of", "4", "-o", File("r1"))).AssertCleanFailure("--shard 4 --of 4");
        Directory.CreateDirectory(File("empty"));
        CliRun.Of(Args("--data", File("empty"), "-o", File("r2"))).AssertCleanFailure("no captioned images");
        Directory.CreateDirectory(File("orphan"));
        System.IO.File.WriteAllText(Path.Combine(File("orphan"), "cat.txt"), "a cat");
        CliRun.Of(Args("--data", File("orphan"), "-o", File("r3"))).AssertCleanFailure("cat.txt", "a caption without an image");
        // A shard that selects nothing: 4 label groups cannot fill 8 shards.
        CliRun.Of(Args("--data", "embedded", "--shard", "5", "--of", "8", "--shard-by", "label", "-o", File("r4"))).AssertCleanFailure("cannot fill 8 shards");

        // A checkpoint from another run configuration is refused on resume.
        Assert.Equal(0, CliRun.Of(Args("--data", "embedded", "--shard", "0", "--of", "16", "--checkpoint-every", "1", "-o", File("r5"))).ExitCode);
        CliRun.Of([.. Args("--data", "embedded", "--shard", "0", "--of", "16", "--checkpoint-every", "1", "-o", File("r5"), "--lr", "0.5"), "--resume"])
            .AssertCleanFailure("another training settings");
        CliRun.Of(Args("--data", "embedded", "--shard", "0", "--of", "16", "-o", File("r5"))).AssertCleanFailure("--resume");
        CliRun.Of([.. Args("--data", "embedded", "--shard", "0", "--of", "16", "-o", File("r6")), "--resume", File("r5")]).AssertCleanFailure("name different runs");
        // --resume RUN alone continues that run (here: already at its last step, so it only rewrites the model).
        Assert.Equal(0, CliRun.Of([.. Args("--data", "embedded", "--shard", "0", "--of", "16", "--checkpoint-every", "1"), "--resume", File("r5")]).ExitCode);
        Assert.False(Directory.Exists(File("r1")) || Directory.Exists(File("r2")) || Directory.Exists(File("r3")) || Directory.Exists(File("r4")));
    }

    /// <summary>
    /// A LoRA trained here and merged by `dsoup lora apply` gives the UNet outputs of the base with the LoRA attached
    /// unmerged, read back from the kohya file and from the PEFT one; the trainer's own merged model agrees too.
    /// </summary>
    [SkippableFact]
    public void ATrainedLoraAppliedGivesTheOutputsOfTheBaseWithTheLoraUnmerged()
    {
        Skip.If(ClipFolder is null, "../shared/clip (CLIP's vocabulary) is not beside this checkout");
        string run = File("lora-run");
        Assert.Equal(0, CliRun.Of("train", "-m", Base(), "--tokenizer", ClipFolder!, "--data", "embedded", "--shard", "0", "--of", "64", "--steps", "6",
            "--batch", "4", "--resolution", "64", "--lr", "1e-2", "--lora", "--rank", "4", "--alpha", "8", "--device", "cpu", "-o", run).ExitCode);
        string merged = File("merged.safetensors");
        Assert.Equal(0, CliRun.Of("lora", "apply", Base(), Path.Combine(run, "lora.safetensors"), "-o", merged).ExitCode);

        var load = new Dsoup.Models.Pipelines.ModelLoadOptions { Device = Dsoup.Engine.Devices.Device.Cpu, TokenizerFolder = ClipFolder };
        float[] Output(string model, string? lora)
        {
            using var sd = Dsoup.Models.Pipelines.StableDiffusionModel.Load(model, load);
            if (lora is not null)
            {
                // The tiny UNet's 16 transformers × 2 attentions × 4 projections.
                Assert.Equal(128, Dsoup.Models.Lora.LoraAdapters.Load(lora, sd.UnetLinears, Dsoup.Kernels.DType.F32, Dsoup.Engine.Devices.Device.Cpu));
            }
            using var scope = Dsoup.Engine.Devices.Device.Cpu.BeginStep();
            using var x = Dsoup.Engine.Tensors.Tensor.RandN(new Dsoup.Engine.Tensors.Shape(1, 4, 8, 8), 3);
            using var c = Dsoup.Engine.Tensors.Tensor.RandN(new Dsoup.Engine.Tensors.Shape(1, 77, 32), 4);
            return sd.Unet.Forward(x, [400f], c).ToArray();
        }
        float[] unmerged = Output(Base(), Path.Combine(run, "lora.safetensors"));
        Assert.NotEqual(Output(Base(), null), unmerged);
        Assert.Equal(unmerged, Output(Base(), Path.Combine(run, "lora-peft.safetensors")));
        double scale = unmerged.Max(v => Math.Abs((double)v));
        foreach (string model in new[] { merged, Path.Combine(run, "model.safetensors") })
        {
            float[] outputs = Output(model, null);
            Assert.All(outputs.Zip(unmerged), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-4 * scale, $"{model}: {p.First} vs {p.Second}"));
        }
    }

    [SkippableFact]
    public void UnreadableImagesAreSkippedByNameAndCounted()
    {
        Skip.If(ClipFolder is null, "../shared/clip (CLIP's vocabulary) is not beside this checkout");
        string data = File("photos");
        Directory.CreateDirectory(data);
        var rgb = new byte[64 * 64 * 3];
        Array.Fill(rgb, (byte)200);
        Dsoup.Models.Images.PngImages.Save(Path.Combine(data, "good.png"), rgb, 64, 64, null);
        System.IO.File.WriteAllText(Path.Combine(data, "good.txt"), "a grey square");
        byte[] png = System.IO.File.ReadAllBytes(Path.Combine(data, "good.png"));
        System.IO.File.WriteAllBytes(Path.Combine(data, "broken.png"), png[..(png.Length / 2)]);
        System.IO.File.WriteAllText(Path.Combine(data, "broken.txt"), "a broken square");
        CliRun run = CliRun.Of("train", "-m", Base(), "--tokenizer", ClipFolder!, "--data", data, "--steps", "1", "--resolution", "64", "--device", "cpu", "-o", File("run"));
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("skipped broken.png", run.Error);
        Assert.Contains("1 unreadable images were skipped", run.Error);
    }

    private static string DotnetHost() => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
}
