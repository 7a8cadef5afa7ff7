using System.CommandLine;
using Dsoup.Engine.Devices;

namespace Dsoup.Cli.Commands;

internal static class DevicesCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("devices", $"List the devices this machine offers and which one is the default (set ${DeviceRegistry.EnvironmentVariable} or --device to choose).");
        command.SetAction(result => context.Run(() =>
        {
            Device chosen = context.Device(result);
            foreach (string name in DeviceRegistry.Available())
            {
                string description = name == "ilgpu-cpu" ? "ILGPU's CPU accelerator running the GPU kernels (for tests; slow)" : Device.Get(name).Description;
                context.Output.WriteLine($"{(name == chosen.Name ? "*" : " ")} {name,-10} {description}");
            }
            return 0;
        }));
        return command;
    }
}
