using Dsoup.Engine.Devices;
using Dsoup.Kernels;

namespace Dsoup.Engine.Memory;

/// <summary>
/// The memory behind one or more tensors (a tensor and its views). Either owned, freed when the
/// last tensor using it is disposed, or carved from a step arena and freed when the step ends.
/// </summary>
internal sealed class Storage
{
    private readonly DeviceBuffer buffer;
    private readonly long offset;
    private readonly StepArena? arena;
    private readonly ArenaAllocation allocation;
    private int references = 1;

    private Storage(Device device, DeviceBuffer buffer, long offset, long bytes, StepArena? arena, ArenaAllocation allocation)
    {
        Device = device;
        this.buffer = buffer;
        this.offset = offset;
        Bytes = bytes;
        this.arena = arena;
        this.allocation = allocation;
    }

    public Device Device { get; }

    public long Bytes { get; }

    public bool IsStepMemory => arena is not null;

    /// <summary>Allocates from the device's open step arena on this thread, or else as owned memory.</summary>
    public static Storage Allocate(Device device, long bytes)
    {
        StepScope? scope = StepScope.For(device);
        if (scope is null)
        {
            return AllocateOwned(device, bytes);
        }
        ArenaAllocation a = scope.Arena.Allocate(bytes);
        return new Storage(device, a.Buffer, a.Offset, bytes, scope.Arena, a);
    }

    /// <summary>Allocates memory that lives until released, whatever step is open.</summary>
    public static Storage AllocateOwned(Device device, long bytes) =>
        new(device, device.Backend.Allocate(bytes), 0, bytes, null, default);

    public BufferView View(long byteOffset, string what)
    {
        if (references <= 0)
        {
            throw new ObjectDisposedException(what, $"{what} has been disposed");
        }
        if (arena is not null && !arena.IsAlive(allocation))
        {
            throw new ObjectDisposedException(what,
                $"{what} belonged to a step (or checkpointed segment) that has ended; keep it with Persist() before the step ends");
        }
        return new BufferView(buffer, offset + byteOffset);
    }

    public void AddReference() => Interlocked.Increment(ref references);

    public void Release()
    {
        if (Interlocked.Decrement(ref references) == 0 && arena is null)
        {
            buffer.Dispose();
        }
    }
}
