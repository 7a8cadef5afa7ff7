namespace Dsoup.Models.Soup;

/// <summary>Where and how a planned soup is written.</summary>
public sealed record SoupRunOptions(string OutputPath)
{
    /// <summary>Also write the soup state (exact sums + manifest) here, for later add/remove.</summary>
    public string? StatePath { get; init; }

    /// <summary>Receives every byte read from the inputs.</summary>
    public IProgress<long>? Progress { get; init; }

    public bool Overwrite { get; init; }

    /// <summary>
    /// Test hook: after this many output tensors are safely journaled, stop as a crash would, leaving the
    /// partial output and journal behind (throws <see cref="SoupInterruptedException"/>).
    /// </summary>
    public int? InterruptAfterTensors { get; init; }

    /// <summary>With <see cref="InterruptAfterTensors"/>: die at once (Environment.FailFast), as a killed process would.</summary>
    public bool InterruptAbruptly { get; init; }
}

/// <summary>What a finished soup reports.</summary>
public sealed record SoupResult(IReadOnlyList<string> InputHashes, string? BaseHash, int ResumedTensors, int Tensors);

/// <summary>A merge stopped on purpose by <see cref="SoupRunOptions.InterruptAfterTensors"/>, its partial output left to resume.</summary>
public sealed class SoupInterruptedException(int tensors) : Exception($"merge interrupted after {tensors} tensors")
{
    public int Tensors { get; } = tensors;
}
