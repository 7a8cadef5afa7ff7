using Dsoup.Engine.Devices;
using Dsoup.Engine.Tensors;

namespace Dsoup.Engine.Memory;

/// <summary>
/// One step of work (a training step, a sampling step). While it is open on a thread, tensors that
/// thread creates on <see cref="Device"/> come from an arena; disposing the scope frees them all
/// at once and makes them unusable. Scopes nest; the innermost one for a device wins.
/// </summary>
public sealed class StepScope : IDisposable
{
    [ThreadStatic]
    private static StepScope? innermost;

    private readonly StepScope? outer;
    private readonly List<Tensor> adopted = [];
    private bool disposed;

    internal StepScope(Device device, StepArena arena)
    {
        Device = device;
        Arena = arena;
        outer = innermost;
        innermost = this;
    }

    public Device Device { get; }

    internal StepArena Arena { get; }

    /// <summary>Peak bytes of activations held at once in this step.</summary>
    public long PeakBytes => Arena.PeakBytes;

    /// <summary>The innermost open scope on this thread for <paramref name="device"/>, if any.</summary>
    internal static StepScope? For(Device device)
    {
        for (StepScope? scope = innermost; scope is not null; scope = scope.outer)
        {
            if (ReferenceEquals(scope.Device, device))
            {
                return scope;
            }
        }
        return null;
    }

    /// <summary>Keeps an individually allocated tensor alive until the step ends, then disposes it.</summary>
    internal void Adopt(Tensor tensor) => adopted.Add(tensor);

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }
        if (!ReferenceEquals(innermost, this))
        {
            throw new InvalidOperationException("step scopes must be disposed innermost first");
        }
        disposed = true;
        innermost = outer;
        foreach (Tensor tensor in adopted)
        {
            tensor.Dispose();
        }
        Arena.Reset();
        Device.ReturnArena(Arena);
    }
}
