namespace Dsoup.Cli.Tests;

public class DemoCommandTests
{
    [Fact]
    public void TheMergeTourRunsEveryStepAndItsChecksHold()
    {
        string folder = Directory.CreateTempSubdirectory("dsoup-demo-test-").FullName;
        try
        {
            CliRun demo = CliRun.Of("demo", "--merge-tour", "--keep", folder);
            Assert.True(demo.ExitCode == 0, demo.Error);
            Assert.Contains("✓ removing shard 3 gives the same bytes as rebuilding without it", demo.Output);
            Assert.Contains("✓ adding it back restores the original soup bit for bit", demo.Output);
            Assert.Contains("154 patched by LoRAs", demo.Output);
            Assert.True(File.Exists(Path.Combine(folder, "soup+loras.safetensors")));
            Assert.Empty(Directory.GetFiles(folder, "*.partial"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void TheWorkflowRunsEveryStageAndWritesTheReport()
    {
        // --quick: a few steps per stage, with nothing beside the checkout (CLIP's merges are built in).
        string folder = Directory.CreateTempSubdirectory("dsoup-workflow-test-").FullName;
        try
        {
            CliRun demo = CliRun.Of("demo", "--quick", "--keep", folder, "--device", "cpu");
            Assert.True(demo.ExitCode == 0, demo.Error);
            Assert.Contains("✓ removing specialist 0 gives the bytes of a soup rebuilt without it", demo.Output);
            string report = File.ReadAllText(Path.Combine(folder, "report.md"));
            foreach (string section in new[] { "## Held-out denoising loss", "## Generated images", "## Unlearning", "## Weight change from the base", "## Training loss", "## Stages" })
            {
                Assert.Contains(section, report);
            }
            foreach (string model in new[] { "base", "specialist-0", "specialist-3", "paragon", "soup", "greedy-soup" })
            {
                Assert.Contains($"| {model} |", report);
                Assert.True(File.Exists(Path.Combine(folder, "images", model + ".png")), model);
            }
            Assert.Contains("| specialist 2 |", report);
            Assert.True(new FileInfo(Path.Combine(folder, "loss-curves.png")).Length > 1000);
            Assert.Empty(Directory.GetFiles(folder, "*.partial", SearchOption.AllDirectories));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
