using System.Text.Json;

namespace Dsoup.Cli.Tests;

public class CheckpointCommandTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("dsoup-cli-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private string File(string name) => Path.Combine(folder, name);

    [Fact]
    public void SynthesizeConvertAndInspectWorkTogether()
    {
        Assert.Equal(0, CliRun.Of("synthesize", File("t.safetensors"), "--family", "tiny", "--ema").ExitCode);
        CliRun convert = CliRun.Of("convert", File("t.safetensors"), File("pipe"), "--layout", "diffusers", "--dtype", "bf16", "--ema", "drop");
        Assert.Equal(0, convert.ExitCode);
        Assert.Contains("diffusers layout", convert.Output);
        CliRun inspect = CliRun.Of("inspect", File("pipe"), "--json");
        Assert.Equal(0, inspect.ExitCode);
        using JsonDocument report = JsonDocument.Parse(inspect.Output);
        Assert.Equal("diffusers", report.RootElement.GetProperty("layout").GetString());
        Assert.Equal(0, report.RootElement.GetProperty("emaTensors").GetInt32());
        Assert.Equal(3, report.RootElement.GetProperty("components").GetArrayLength());
        Assert.True(report.RootElement.GetProperty("components")[0].GetProperty("dTypes").TryGetProperty("BF16", out _));
        CliRun text = CliRun.Of("inspect", File("t.safetensors"));
        Assert.Contains("684 EMA tensors", text.Output);
        Assert.Contains("suspicious  nothing", text.Output);
    }

    /// <summary>A Llama-style file: names no Stable Diffusion layout knows, f16 values.</summary>
    private void WriteLlamaLike(string path, int seed)
    {
        string[] names = ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.up_proj.weight", "lm_head.weight"];
        var random = new Random(seed);
        var headers = names.Select(n => new Dsoup.Engine.Checkpoints.Safetensors.TensorHeader(n, Dsoup.Engine.Checkpoints.StorageType.F16, [8, 8])).ToList();
        using var writer = Dsoup.Engine.Checkpoints.Safetensors.SafetensorsWriter.Create(path, headers, null);
        foreach (var h in headers)
        {
            writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Enumerable.Range(0, 64).Select(_ => (Half)(random.NextDouble() - 0.5)).ToArray().AsSpan()));
        }
        writer.Commit();
    }

    [Fact]
    public void PlainCheckpointsAreNamedSoupedAndConvertedUnderTheirOwnNames()
    {
        WriteLlamaLike(File("llm1.safetensors"), 1);
        WriteLlamaLike(File("llm2.safetensors"), 2);
        CliRun inspect = CliRun.Of("inspect", File("llm1.safetensors"));
        Assert.Equal(0, inspect.ExitCode);
        Assert.Contains("plain layout", inspect.Output);
        Assert.Contains("Hugging Face transformers decoder", inspect.Output);
        Assert.Contains("suspicious  nothing", inspect.Output);
        CliRun plan = CliRun.Of("soup", File("llm1.safetensors"), File("llm2.safetensors"), "--dry-run");
        Assert.Equal(0, plan.ExitCode);
        Assert.Contains("taken as they are", plan.Output);
        Assert.Equal(0, CliRun.Of("soup", File("llm1.safetensors"), File("llm2.safetensors"), "-o", File("llm-soup.safetensors")).ExitCode);
        Assert.Equal(0, CliRun.Of("convert", File("llm-soup.safetensors"), File("llm-f32.safetensors"), "--dtype", "f32").ExitCode);
        using (var converted = Dsoup.Engine.Checkpoints.Safetensors.SafetensorsReader.Open(File("llm-f32.safetensors")))
        {
            Assert.Equal(["lm_head.weight", "model.embed_tokens.weight", "model.layers.0.mlp.up_proj.weight", "model.layers.0.self_attn.q_proj.weight"],
                converted.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
            Assert.All(converted.Tensors, t => Assert.Equal(Dsoup.Engine.Checkpoints.StorageType.F32, t.Type));
        }
        CliRun.Of("convert", File("llm1.safetensors"), File("never.safetensors"), "--layout", "original").AssertCleanFailure("no Stable Diffusion layout");
    }

    [Fact]
    public void AHostileFileGetsOneClearLineAndExitCodeOne()
    {
        System.IO.File.WriteAllBytes(File("bad.safetensors"), [40, 0, 0, 0, 0, 0, 0, 0, (byte)'{']);
        CliRun run = CliRun.Of("inspect", File("bad.safetensors"));
        Assert.Equal(1, run.ExitCode);
        run.AssertCleanFailure("bad.safetensors", "InvalidHeaderLength");
    }

    [Fact]
    public void MissingInputsAndForbiddenOverwritesAreExplained()
    {
        CliRun.Of("inspect", File("nope.safetensors")).AssertCleanFailure("no such file");
        Assert.Equal(0, CliRun.Of("synthesize", File("t.safetensors")).ExitCode);
        System.IO.File.WriteAllText(File("out.safetensors"), "keep me");
        CliRun.Of("convert", File("t.safetensors"), File("out.safetensors")).AssertCleanFailure("already exists", "--overwrite");
        CliRun.Of("convert", File("t.safetensors"), File("folder")).AssertCleanFailure("ending in .safetensors");
    }

    [Fact]
    public void BadFlagValuesAreRejectedBeforeAnyWork()
    {
        CliRun dtype = CliRun.Of("convert", "a", "b", "--dtype", "f8");
        Assert.NotEqual(0, dtype.ExitCode);
        Assert.Contains("f8", dtype.Error);
        CliRun.Of("devices", "--device", "gpu").AssertCleanFailure("unknown device 'gpu'", "cpu, cuda");
        Assert.NotEqual(0, CliRun.Of("inspect").ExitCode);
    }

    [Fact]
    public void DevicesListsTheCpu()
    {
        CliRun run = CliRun.Of("devices", "--device", "cpu");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("* cpu", run.Output);
    }

    [Fact]
    public void HelpExplainsTheCommands()
    {
        CliRun help = CliRun.Of("--help");
        Assert.Equal(0, help.ExitCode);
        foreach (string command in new[] { "inspect", "convert", "synthesize", "bench", "devices" })
        {
            Assert.Contains(command, help.Output);
        }
    }
}
