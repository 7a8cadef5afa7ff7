using System.Runtime.CompilerServices;
using Dsoup.Kernels.Numerics;

namespace Dsoup.Kernels.Cpu.Gemm;

/// <summary>Reads elements of one storage dtype as f32; specialised per struct so packing loops inline it.</summary>
internal interface IElementReader
{
    static abstract float Read(nint address, long index);

    static abstract void ReadRun(nint address, long index, Span<float> destination);
}

internal readonly unsafe struct F32Reader : IElementReader
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Read(nint address, long index) => ((float*)address)[index];

    public static void ReadRun(nint address, long index, Span<float> destination) =>
        new ReadOnlySpan<float>((float*)address + index, destination.Length).CopyTo(destination);
}

internal readonly unsafe struct F16Reader : IElementReader
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Read(nint address, long index) => HalfBits.F16ToSingle(((ushort*)address)[index]);

    public static void ReadRun(nint address, long index, Span<float> destination) =>
        HalfBits.F16ToSingle(new ReadOnlySpan<ushort>((ushort*)address + index, destination.Length), destination);
}

internal readonly unsafe struct BF16Reader : IElementReader
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Read(nint address, long index) => HalfBits.BF16ToSingle(((ushort*)address)[index]);

    public static void ReadRun(nint address, long index, Span<float> destination) =>
        HalfBits.BF16ToSingle(new ReadOnlySpan<ushort>((ushort*)address + index, destination.Length), destination);
}
