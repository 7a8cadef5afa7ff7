using Dsoup.Kernels.Numerics;

namespace Dsoup.Kernels.Cpu;

/// <summary>Loads runs of any dtype into f32 scratch and stores f32 scratch back, rounding to nearest even.</summary>
internal static unsafe class ElementBlocks
{
    /// <summary>Scratch size in elements: three blocks fit the L1 cache.</summary>
    public const int Size = 2048;

    public static void Load(DType dtype, nint address, long start, Span<float> destination)
    {
        int n = destination.Length;
        switch (dtype)
        {
            case DType.F32:
                CpuMemory.Span<float>(address, start, n).CopyTo(destination);
                break;
            case DType.F16:
                HalfBits.F16ToSingle(CpuMemory.Span<ushort>(address, start, n), destination);
                break;
            case DType.BF16:
                HalfBits.BF16ToSingle(CpuMemory.Span<ushort>(address, start, n), destination);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype));
        }
    }

    public static void Store(DType dtype, ReadOnlySpan<float> source, nint address, long start)
    {
        int n = source.Length;
        switch (dtype)
        {
            case DType.F32:
                source.CopyTo(CpuMemory.Span<float>(address, start, n));
                break;
            case DType.F16:
                HalfBits.SingleToF16(source, CpuMemory.Span<ushort>(address, start, n));
                break;
            case DType.BF16:
                HalfBits.SingleToBF16(source, CpuMemory.Span<ushort>(address, start, n));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype));
        }
    }
}
