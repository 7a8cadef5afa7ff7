using System.Diagnostics;
using System.Text.Json;

namespace Dsoup.Cli.Tests;

public class SoupCommandTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("dsoup-soup-cli-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private string File(string name) => Path.Combine(folder, name);

    private void Variants(params int[] variants)
    {
        foreach (int v in variants)
        {
            Assert.Equal(0, CliRun.Of("synthesize", File($"v{v}.safetensors"), "--variant", $"{v}", "--perturbation", "0.1").ExitCode);
        }
    }

    [Fact]
    public void DryRunReportsThePlan()
    {
        Variants(1, 2);
        CliRun plan = CliRun.Of("soup", File("v1.safetensors"), File("v2.safetensors"), "--dry-run");
        Assert.Equal(0, plan.ExitCode);
        Assert.Contains("964 merged, 0 copied, 0 left out", plan.Output);
        Assert.Contains("conflicts   none", plan.Output);
        Assert.Contains("headers only, no tensor data read", plan.Output);
        CliRun json = CliRun.Of("soup", File("v1.safetensors"), File("v2.safetensors"), "--dry-run", "--json", "--method", "ties", "--base", File("v1.safetensors"));
        using var document = JsonDocument.Parse(json.Output);
        Assert.Equal("ties", document.RootElement.GetProperty("plan").GetProperty("method").GetString());
    }

    /// <summary>Every progress line of a run stays within 100 %, and the last one ends there with done = total.</summary>
    private static void AssertProgressEndsAtOneHundred(CliRun run, string label)
    {
        Assert.Equal(0, run.ExitCode);
        var lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => System.Text.RegularExpressions.Regex.Match(l, @"^(?<label>[a-z ]+?)\s+(?<percent>[0-9.]+)%\s+(?<done>[0-9.]+ [A-Za-z]+) / (?<total>[0-9.]+ [A-Za-z]+)"))
            .Where(m => m.Success && m.Groups["label"].Value == label).ToList();
        Assert.NotEmpty(lines);
        Assert.All(lines, m => Assert.True(double.Parse(m.Groups["percent"].Value, System.Globalization.CultureInfo.InvariantCulture) <= 100.0, m.Value));
        Assert.Equal("100.0", lines[^1].Groups["percent"].Value);
        Assert.Equal(lines[^1].Groups["total"].Value, lines[^1].Groups["done"].Value);
    }

    [Fact]
    public void ProgressNeverPassesOneHundredPercentAndEndsThere()
    {
        Variants(1, 2, 3);
        string v1 = File("v1.safetensors"), v2 = File("v2.safetensors"), v3 = File("v3.safetensors");
        AssertProgressEndsAtOneHundred(CliRun.Of("soup", v1, v2, "-o", File("p.safetensors"), "--state", File("p.state")), "soup");
        AssertProgressEndsAtOneHundred(CliRun.Of("soup", "add", File("p.state"), v3, "-o", File("p3.safetensors")), "soup add");
        AssertProgressEndsAtOneHundred(CliRun.Of("soup", "remove", File("p.state"), v2, "-o", File("p13.safetensors")), "soup remove");
        AssertProgressEndsAtOneHundred(CliRun.Of("soup", v2, v3, "--method", "ties", "--base", v1, "-o", File("t.safetensors")), "soup");
        AssertProgressEndsAtOneHundred(CliRun.Of("soup", v2, v3, "--method", "dare", "--base", v1, "-o", File("d.safetensors")), "soup");
    }

    [Fact]
    public void SmallMergesDoNotQuoteTheReadCeiling()
    {
        Variants(1, 2);
        CliRun run = CliRun.Of("soup", File("v1.safetensors"), File("v2.safetensors"), "-o", File("small.safetensors"));
        Assert.Equal(0, run.ExitCode);
        Assert.DoesNotContain("read ceiling", run.Output + run.Error);
    }

    [Fact]
    public void ADryRunWithConflictsExitsNonZeroAndListsThem()
    {
        Variants(1);
        Assert.Equal(0, CliRun.Of("synthesize", File("inpaint.safetensors"), "--family", "tiny-inpainting").ExitCode);
        CliRun run = CliRun.Of("soup", File("v1.safetensors"), File("inpaint.safetensors"), "--dry-run");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("different shapes", run.Output);
        CliRun merge = CliRun.Of("soup", File("v1.safetensors"), File("inpaint.safetensors"), "-o", File("never.safetensors"));
        merge.AssertCleanFailure("the soup cannot be made", "different shapes");
        Assert.False(System.IO.File.Exists(File("never.safetensors")));
    }

    [Fact]
    public void TiesRunsOnTheNamedDeviceAndOtherMethodsSayTheyStayOnTheCpu()
    {
        // One 512 Ki-element tensor: big enough for the device (smaller TIES tensors stay on the CPU).
        foreach (int v in new[] { 0, 1, 2 })
        {
            Assert.Equal(0, CliRun.Of("synthesize", File($"f{v}.safetensors"), "--family", "flat", "--size", "1MiB", "--variant", $"{v}", "--perturbation", "0.1").ExitCode);
        }
        string[] common = [File("f1.safetensors"), File("f2.safetensors"), "--base", File("f0.safetensors")];
        CliRun device = CliRun.Of(["soup", .. common, "--method", "ties", "-o", File("ties-device.safetensors"), "--device", "ilgpu-cpu"]);
        Assert.Equal(0, device.ExitCode);
        Assert.Contains("(ties, 1 on ilgpu-cpu)", device.Output);
        Assert.Equal(0, CliRun.Of(["soup", .. common, "--method", "ties", "-o", File("ties-cpu.safetensors"), "--device", "cpu"]).ExitCode);
        Assert.Equal(System.IO.File.ReadAllBytes(File("ties-cpu.safetensors")), System.IO.File.ReadAllBytes(File("ties-device.safetensors")));
        CliRun linear = CliRun.Of(["soup", .. common, "--method", "task-arithmetic", "-o", File("ta.safetensors"), "--device", "ilgpu-cpu"]);
        Assert.Equal(0, linear.ExitCode);
        Assert.Contains("task-arithmetic soups stream on the CPU", linear.Error);
    }

    [Fact]
    public void StateAddAndRemoveWorkFromTheCommandLine()
    {
        Variants(1, 2, 3);
        Assert.Equal(0, CliRun.Of("soup", File("v1.safetensors"), File("v2.safetensors"), File("v3.safetensors"), "-o", File("s123.safetensors"), "--state", File("s.state")).ExitCode);
        Assert.Equal(0, CliRun.Of("soup", File("v1.safetensors"), File("v3.safetensors"), "-o", File("s13.safetensors")).ExitCode);
        CliRun remove = CliRun.Of("soup", "remove", File("s.state"), File("v2.safetensors"), "-o", File("removed.safetensors"));
        Assert.Equal(0, remove.ExitCode);
        Assert.Equal(System.IO.File.ReadAllBytes(File("s13.safetensors")), System.IO.File.ReadAllBytes(File("removed.safetensors")));
        CliRun.Of("soup", "remove", File("s.state"), File("v2.safetensors"), "-o", File("again.safetensors")).AssertCleanFailure("is not an ingredient");
    }

    [Fact]
    public void ARecipeFileDescribesTheSameSoupAsFlags()
    {
        Variants(1, 2, 3);
        Assert.Equal(0, CliRun.Of("soup", File("v1.safetensors"), File("v2.safetensors"), File("v3.safetensors"), "--method", "weighted",
            "--weights", "2,1,1", "-o", File("flags.safetensors")).ExitCode);
        System.IO.File.WriteAllText(File("recipe.json"), """
            {
              // paths are relative to the recipe
              "inputs": [{"path": "v1.safetensors", "weight": 2}, {"path": "v2.safetensors"}, {"path": "v3.safetensors"}],
              "method": "weighted",
              "output": "recipe.safetensors"
            }
            """);
        Assert.Equal(0, CliRun.Of("soup", "--recipe", File("recipe.json")).ExitCode);
        Assert.Equal(System.IO.File.ReadAllBytes(File("flags.safetensors")), System.IO.File.ReadAllBytes(File("recipe.safetensors")));
        System.IO.File.WriteAllText(File("bad.json"), """{"inputs": [{"path": "v1.safetensors"}], "mehtod": "ties"}""");
        CliRun.Of("soup", "--recipe", File("bad.json")).AssertCleanFailure("not a valid soup recipe");
    }

    [Fact]
    public void WrongWeightCountsAndMissingBasesAreExplained()
    {
        Variants(1, 2);
        CliRun.Of("soup", File("v1.safetensors"), File("v2.safetensors"), "--method", "weighted", "--weights", "1,2,3", "-o", File("x.safetensors"))
            .AssertCleanFailure("3 weights given for 2 inputs");
        CliRun.Of("soup", File("v1.safetensors"), File("v2.safetensors"), "--method", "task-arithmetic", "-o", File("x.safetensors"))
            .AssertCleanFailure("needs --base");
        CliRun.Of("soup", File("v1.safetensors"), File("v2.safetensors"), "--max-memory", "lots", "-o", File("x.safetensors"))
            .AssertCleanFailure("is not a size");
    }

    [Fact]
    public void AKilledMergeResumesToTheSameBytes()
    {
        Variants(1, 2);
        Assert.Equal(0, CliRun.Of("soup", File("v1.safetensors"), File("v2.safetensors"), "-o", File("straight.safetensors")).ExitCode);
        int crashed = RunProcess(new Dictionary<string, string> { ["DSOUP_TEST_INTERRUPT_AFTER_TENSORS"] = "500" },
            "soup", File("v1.safetensors"), File("v2.safetensors"), "-o", File("killed.safetensors"));
        Assert.NotEqual(0, crashed);
        Assert.False(System.IO.File.Exists(File("killed.safetensors")));
        Assert.True(System.IO.File.Exists(File("killed.safetensors.partial.journal")));
        CliRun resume = CliRun.Of("soup", File("v1.safetensors"), File("v2.safetensors"), "-o", File("killed.safetensors"));
        Assert.Equal(0, resume.ExitCode);
        Assert.Contains("resumed after 500 finished tensors", resume.Output);
        Assert.Equal(System.IO.File.ReadAllBytes(File("straight.safetensors")), System.IO.File.ReadAllBytes(File("killed.safetensors")));
    }

    private static int RunProcess(Dictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(typeof(DsoupApp).Assembly.Location);
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        using var process = Process.Start(start)!;
        process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode;
    }
}
