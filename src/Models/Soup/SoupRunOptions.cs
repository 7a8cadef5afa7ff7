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
    /// Where TIES runs when this is a GPU (null or the CPU: on the CPU). The other methods always stream on
    /// the CPU: they are bound by reading, and a GPU would only add copies.
    /// </summary>
    public Engine.Devices.Device? Device { get; init; }

    /// <summary>
    /// TIES tensors with fewer elements stay on the CPU even with a GPU: for biases and norms a device's
    /// launch and round-trip latency (a histogram download per radix digit and input) outweighs the work.
    /// </summary>
    public long DeviceMinimumElements { get; init; } = 1 << 18;

    /// <summary>
    /// Test hook: after this many output tensors are safely journaled, stop as a crash would, leaving the
    /// partial output and journal behind (throws <see cref="SoupInterruptedException"/>).
    /// </summary>
    public int? InterruptAfterTensors { get; init; }

    /// <summary>With <see cref="InterruptAfterTensors"/>: die at once (Environment.FailFast), as a killed process would.</summary>
    public bool InterruptAbruptly { get; init; }
}

/// <summary>What a finished soup reports; <paramref name="TensorsOnDevice"/> counts the tensors a GPU merged.</summary>
public sealed record SoupResult(IReadOnlyList<string> InputHashes, string? BaseHash, int ResumedTensors, int Tensors, int TensorsOnDevice = 0);

/// <summary>A merge stopped on purpose by <see cref="SoupRunOptions.InterruptAfterTensors"/>, its partial output left to resume.</summary>
public sealed class SoupInterruptedException(int tensors) : Exception($"merge interrupted after {tensors} tensors")
{
    public int Tensors { get; } = tensors;
}
