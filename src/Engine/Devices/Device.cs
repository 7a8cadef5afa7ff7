using System.Collections.Concurrent;
using Dsoup.Engine.Memory;
using Dsoup.Kernels;

namespace Dsoup.Engine.Devices;

/// <summary>
/// Where tensors live and ops run. One instance per name for the life of the process
/// (<see cref="Get"/>); its backend implements the op set.
/// </summary>
public sealed class Device
{
    private readonly ConcurrentBag<StepArena> idleArenas = [];

    internal Device(string name, DeviceKind kind, IBackend backend)
    {
        Name = name;
        Kind = kind;
        Backend = backend;
    }

    /// <summary>The name as typed on the command line: cpu, cuda:0, opencl:0, ilgpu-cpu.</summary>
    public string Name { get; }

    public DeviceKind Kind { get; }

    public IBackend Backend { get; }

    public string Description => Backend.Description;

    public static Device Cpu => DeviceRegistry.Get("cpu");

    /// <summary>
    /// The device named by DSOUP_DEVICE, else the first CUDA GPU, else the CPU.
    /// </summary>
    public static Device Default => DeviceRegistry.Default;

    /// <summary>Looks a device up by name (cpu, cuda, cuda:N, opencl, opencl:N, ilgpu-cpu).</summary>
    public static Device Get(string name) => DeviceRegistry.Get(name);

    /// <summary>
    /// Opens a step: until the returned scope is disposed, tensors created on this device by this thread
    /// are carved out of an arena that is reset at once when the step ends. Parameters and optimizer
    /// state are created outside steps and live until disposed.
    /// </summary>
    public StepScope BeginStep()
    {
        if (!idleArenas.TryTake(out StepArena? arena))
        {
            arena = new StepArena(Backend);
        }
        return new StepScope(this, arena);
    }

    internal void ReturnArena(StepArena arena) => idleArenas.Add(arena);

    public void Synchronize() => Backend.Synchronize();

    public override string ToString() => Name;
}
