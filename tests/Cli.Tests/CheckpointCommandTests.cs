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
