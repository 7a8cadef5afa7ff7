namespace Dsoup.Cli.Tests;

/// <summary>Tests that count the bytes this process reads, so nothing else may run beside them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReadCountingCollection
{
    public const string Name = "read counting";
}

[Collection(ReadCountingCollection.Name)]
public sealed class DryRunReadTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("dsoup-dry-run-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    /// <summary>Bytes this process has read through read system calls so far (Linux /proc/self/io).</summary>
    private static long BytesRead() =>
        long.Parse(File.ReadLines("/proc/self/io").First(l => l.StartsWith("rchar:", StringComparison.Ordinal))["rchar:".Length..].Trim());

    [SkippableFact]
    public void ADryRunReadsHeadersAndNoTensorData()
    {
        Skip.IfNot(File.Exists("/proc/self/io"), "counting reads needs Linux's /proc/self/io");
        string a = Path.Combine(folder, "a.safetensors"), b = Path.Combine(folder, "b.safetensors");
        Assert.Equal(0, CliRun.Of("synthesize", a, "--family", "flat", "--size", "48MiB", "--variant", "1", "--perturbation", "0.1").ExitCode);
        Assert.Equal(0, CliRun.Of("synthesize", b, "--family", "flat", "--size", "48MiB", "--variant", "2", "--perturbation", "0.1").ExitCode);
        CliRun.Of("soup", a, b, "--dry-run"); // warm-up: code paths loaded once, outside the count
        long before = BytesRead();
        CliRun plan = CliRun.Of("soup", a, b, "--dry-run", "--method", "ties", "--base", a);
        long read = BytesRead() - before;
        Assert.Equal(0, plan.ExitCode);
        // Two headers are a few hundred bytes; 96 MiB of tensor data sit behind them.
        Assert.True(read < 1 << 20, $"the dry run read {read} bytes");
        long merge = BytesRead();
        Assert.Equal(0, CliRun.Of("soup", a, b, "-o", Path.Combine(folder, "s.safetensors")).ExitCode);
        Assert.True(BytesRead() - merge > 96L << 20, "a real merge reads the inputs (the count works)");
    }
}
