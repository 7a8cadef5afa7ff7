using BenchmarkDotNet.Attributes;
using Dsoup.Engine.Checkpoints;
using Dsoup.Models.Soup;
using Dsoup.Models.Synthetic;

namespace Dsoup.Benchmarks;

/// <summary>
/// A uniform soup of N flat f16 checkpoints against a plain read of the same files, in one process, with
/// the files in the page cache (the setup reads them once). The Ratio column is merge time / read time;
/// merge throughput as a fraction of the read ceiling is its inverse.
/// Run: dotnet run -c Release --project benchmarks/Benchmarks -- --filter '*Merge*'
/// Files go to /dev/shm when it exists (set DSOUP_BENCH_DIR to choose), so the disk does not set the pace.
/// </summary>
[MemoryDiagnoser]
public class MergeBenchmarks
{
    private string folder = "";
    private string[] inputs = [];
    private SoupPlan? plan;
    private List<SoupIngredient> opened = [];

    [Params(4)]
    public int Inputs { get; set; }

    [Params(256)]
    public int MegabytesEach { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        string root = Environment.GetEnvironmentVariable("DSOUP_BENCH_DIR") ?? (Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath());
        folder = Directory.CreateDirectory(Path.Combine(root, $"dsoup-merge-bench-{Environment.ProcessId}")).FullName;
        inputs = Enumerable.Range(1, Inputs).Select(i => Path.Combine(folder, $"in{i}.safetensors")).ToArray();
        for (int i = 0; i < inputs.Length; i++)
        {
            SyntheticCheckpoint.WriteFlat(inputs[i], (long)MegabytesEach << 20, StorageType.F16, 1, (ulong)i + 1, 0.1f);
            ReadSpeed.ReadWholeFile(inputs[i]);
        }
        opened = inputs.Select(p => SoupIngredient.Open(p)).ToList();
        plan = SoupPlanner.Plan(opened, null, null, new SoupOptions { MaxMemory = 256L << 20 });
    }

    [Benchmark(Baseline = true, Description = "read the inputs, all cores")]
    public long Read() => ReadSpeed.ReadAllParallel(inputs);

    [Benchmark(Description = "read the inputs, one stream")]
    public long ReadOneStream() => inputs.Sum(ReadSpeed.ReadWholeFile);

    [Benchmark(Description = "uniform soup (exact)")]
    public void Soup() => SoupEngine.Run(plan!, new SoupRunOptions(Path.Combine(folder, "soup.safetensors")) { Overwrite = true });

    [GlobalCleanup]
    public void Cleanup()
    {
        opened.ForEach(i => i.Dispose());
        Directory.Delete(folder, recursive: true);
    }
}
