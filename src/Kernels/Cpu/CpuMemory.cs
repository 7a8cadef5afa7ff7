using System.Runtime.CompilerServices;

namespace Dsoup.Kernels.Cpu;

/// <summary>Turns a <see cref="BufferView"/> into a host address after checking it belongs to the CPU backend.</summary>
internal static unsafe class CpuMemory
{
    public static nint Address(BufferView view, long bytes, string what)
    {
        if (view.Buffer is not NativeBuffer native)
        {
            throw new ArgumentException(
                $"{what}: the buffer lives on '{view.Buffer.Backend.Name}', not on the cpu device; move the tensor first");
        }
        view.EnsureSpan(bytes, what);
        return (nint)(native.Pointer + view.ByteOffset);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Span<T> Span<T>(nint address, long start, long count)
        where T : unmanaged =>
        new((T*)address + start, checked((int)count));
}
