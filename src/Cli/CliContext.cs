using System.CommandLine;
using Dsoup.Engine.Devices;

namespace Dsoup.Cli;

/// <summary>What every command shares: output streams, whether stderr is a terminal, and the --device option.</summary>
public sealed class CliContext(TextWriter output, TextWriter error, bool interactive)
{
    public static readonly Option<string?> DeviceOption = new("--device")
    {
        Description = $"Device to run on: {DeviceRegistry.Expected}. Default: ${DeviceRegistry.EnvironmentVariable}, else the first CUDA GPU, else cpu.",
        Recursive = true,
    };

    public TextWriter Output { get; } = output;

    public TextWriter Error { get; } = error;

    public bool Interactive { get; } = interactive;

    public Device Device(ParseResult result) => result.GetValue(DeviceOption) is string name ? Engine.Devices.Device.Get(name) : Engine.Devices.Device.Default;

    /// <summary>Runs a command body with dsoup's error handling.</summary>
    public int Run(Func<int> body) => CliErrors.Run(body, Error);

    internal ByteProgress Progress(string label, long total, double ceiling = 0) => new(label, total, Error, Interactive, ceiling);
}
