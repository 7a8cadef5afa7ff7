using System.Text.Json;

namespace Dsoup.Cli.Tests;

public class LoraCommandTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("dsoup-lora-cli-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private string File(string name) => Path.Combine(folder, name);

    [Fact]
    public void ApplyAndMergeFromTheCommandLine()
    {
        Assert.Equal(0, CliRun.Of("synthesize", File("m.safetensors")).ExitCode);
        Assert.Equal(0, CliRun.Of("synthesize", File("a.safetensors"), "--lora-for", File("m.safetensors"), "--rank", "4", "--alpha", "2").ExitCode);
        Assert.Equal(0, CliRun.Of("synthesize", File("b.safetensors"), "--lora-for", File("m.safetensors"), "--rank", "2", "--convention", "peft", "--seed", "5").ExitCode);

        CliRun plan = CliRun.Of("lora", "apply", File("m.safetensors"), File("a.safetensors"), File("b.safetensors") + ":0.5", "--dry-run");
        Assert.Equal(0, plan.ExitCode);
        Assert.Contains("2 LoRAs patch 154 tensors (308 modules)", plan.Output);

        CliRun apply = CliRun.Of("lora", "apply", File("m.safetensors"), File("a.safetensors"), File("b.safetensors") + ":0.5", "-o", File("patched.safetensors"));
        Assert.Equal(0, apply.ExitCode);
        Assert.Contains("(LoRA, strength 0.5)", apply.Output);
        CliRun inspect = CliRun.Of("inspect", File("patched.safetensors"), "--json");
        Assert.Equal(0, inspect.ExitCode);
        Assert.Contains("lora_formula", inspect.Output);

        CliRun svd = CliRun.Of("lora", "merge", File("a.safetensors"), File("b.safetensors"), "-o", File("svd.safetensors"), "--method", "svd", "--rank", "3");
        Assert.Equal(0, svd.ExitCode);
        Assert.Contains("rank 3 (svd)", svd.Output);
        Assert.Contains("dropped energy:", svd.Output);
        CliRun concat = CliRun.Of("lora", "merge", File("a.safetensors"), File("b.safetensors"), "-o", File("cat.safetensors"));
        Assert.Equal(0, concat.ExitCode);
        Assert.Contains("rank 6 (concat)", concat.Output);
    }

    [Fact]
    public void BadLoraRequestsFailCleanly()
    {
        Assert.Equal(0, CliRun.Of("synthesize", File("m.safetensors")).ExitCode);
        Assert.Equal(0, CliRun.Of("synthesize", File("a.safetensors"), "--lora-for", File("m.safetensors")).ExitCode);
        CliRun.Of("lora", "merge", File("a.safetensors"), "-o", File("x.safetensors"), "--method", "svd").AssertCleanFailure("--rank");
        CliRun.Of("lora", "apply", File("m.safetensors"), File("m.safetensors"), "-o", File("x.safetensors")).AssertCleanFailure("lora-keys");
        CliRun.Of("lora", "apply", File("m.safetensors"), File("missing.safetensors"), "-o", File("x.safetensors")).AssertCleanFailure("missing.safetensors");
        CliRun.Of("soup", File("m.safetensors"), "--lora", File("a.safetensors"), "--state", File("s.state"), "-o", File("x.safetensors"))
            .AssertCleanFailure("soup state");
        Assert.False(System.IO.File.Exists(File("x.safetensors")));
    }
}
