namespace Dsoup.Cli.Tests;

/// <summary>
/// A small base (the tiny family, trainable) and two fine-tunes of it on different shards of the embedded data,
/// made once with dsoup's own commands and shared by the evaluation and greedy-soup tests.
/// </summary>
public sealed class SoupWorkflowFixture : IDisposable
{
    public static readonly string? ClipFolder = SharedData.Find("clip");

    public SoupWorkflowFixture()
    {
        if (ClipFolder is null)
        {
            return;
        }
        Run("synthesize", Base, "--family", "tiny", "--trainable", "--dtype", "f32");
        for (int shard = 0; shard < 2; shard++)
        {
            string run = File($"run{shard}");
            Run("train", "-m", Base, "--tokenizer", ClipFolder, "--data", "embedded", "--shard", $"{shard}", "--of", "4", "--shard-by", "label",
                "--steps", "12", "--batch", "4", "--resolution", "64", "--lr", "1e-3", "--device", "cpu", "-o", run);
            System.IO.File.Copy(Path.Combine(run, "model.safetensors"), Specialist(shard));
        }
    }

    public string Folder { get; } = Directory.CreateTempSubdirectory("dsoup-workflow-").FullName;

    public string Base => File("base.safetensors");

    /// <summary>The fine-tune on shard <paramref name="shard"/> (0 or 1) of 4, split by label.</summary>
    public string Specialist(int shard) => File($"specialist{shard}.safetensors");

    public string File(string name) => Path.Combine(Folder, name);

    public void Dispose() => Directory.Delete(Folder, recursive: true);

    private static void Run(params string[] args)
    {
        CliRun run = CliRun.Of(args);
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException($"dsoup {string.Join(' ', args)} failed: {run.Error}");
        }
    }
}
