namespace Dsoup.Cli.Tests;

public class DemoCommandTests
{
    [Fact]
    public void TheDemoRunsEveryStepAndItsChecksHold()
    {
        string folder = Directory.CreateTempSubdirectory("dsoup-demo-test-").FullName;
        try
        {
            CliRun demo = CliRun.Of("demo", "--keep", folder);
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
}
