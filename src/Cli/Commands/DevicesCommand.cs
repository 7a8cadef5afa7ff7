using System.CommandLine;
using Dsoup.Engine.Devices;

namespace Dsoup.Cli.Commands;

internal static class DevicesCommand
{
    public static Command Create(CliContext context)
    {
        var check = new Option<bool>("--check")
        {
            Description = "Run every op family (elementwise, reductions, GEMM, conversion, random numbers, a backward pass) on --device and on the CPU backend, and compare.",
        };
        var command = new Command("devices", $"List the devices this machine offers and which one is the default (set ${DeviceRegistry.EnvironmentVariable} or --device to choose).")
        {
            check,
        };
        command.SetAction(result => context.Run(() =>
        {
            Device chosen = context.Device(result);
            if (result.GetValue(check))
            {
                return Check(context, chosen);
            }
            foreach (string name in DeviceRegistry.Available())
            {
                string description = name == "ilgpu-cpu" ? "ILGPU's CPU accelerator running the GPU kernels (for tests; slow)" : Device.Get(name).Description;
                context.Output.WriteLine($"{(name == chosen.Name ? "*" : " ")} {name,-10} {description}");
            }
            return 0;
        }));
        return command;
    }

    private static int Check(CliContext context, Device device)
    {
        context.Output.WriteLine($"checking {device.Name} ({device.Description}) against cpu");
        var results = DeviceCheck.Run(device);
        foreach (DeviceCheckResult r in results)
        {
            context.Output.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"  {(r.Passed ? "ok  " : "FAIL")} {r.Op,-28} {Kernels.DTypeInfo.Name(r.DType),-5} max rel. error {r.MaxRelativeError:E2} (tolerance {r.Tolerance:E0}) {r.Milliseconds,8:F1} ms{(r.Failure is null ? "" : "  " + r.Failure)}"));
        }
        int failed = results.Count(r => !r.Passed);
        context.Output.WriteLine($"{results.Count - failed} passed, {failed} failed");
        return failed == 0 ? 0 : CliErrors.Failure;
    }
}
