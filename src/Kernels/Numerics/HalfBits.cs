using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dsoup.Kernels.Numerics;

/// <summary>
/// Conversions between f32 and the 16-bit storage types, scalar and over spans.
/// f32 → f16 and f32 → bf16 round to nearest even; NaN stays NaN (quieted), infinities stay infinite.
/// bf16 is carried as its raw 16 bits (a ushort): .NET has no bf16 type we can rely on in kernels.
/// </summary>
public static class HalfBits
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BF16ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort SingleToBF16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7FFF_FFFFu) > 0x7F80_0000u)
        {
            return (ushort)((bits >> 16) | 0x0040); // NaN: keep sign and payload top, force quiet
        }
        bits += 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)(bits >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float F16ToSingle(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort SingleToF16(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    /// <summary>
    /// f16 → f64, exactly, straight from the bits (one pass instead of widening through f32): normal values
    /// rebias the exponent, subnormals are m · 2^−24, infinities and NaN keep their class and payload.
    /// </summary>
    public static void F16ToDouble(ReadOnlySpan<ushort> source, Span<double> destination)
    {
        CheckLengths(source.Length, destination.Length);
        int i = 0;
        if (Cpu.Merge.MergeKernelPaths.VectorsAllowed && System.Runtime.Intrinsics.X86.Avx512F.IsSupported && System.Runtime.Intrinsics.X86.Avx512DQ.IsSupported)
        {
            ref ushort src = ref MemoryMarshal.GetReference(source);
            ref double dst = ref MemoryMarshal.GetReference(destination);
            for (; i + 8 <= source.Length; i += 8)
            {
                Vector512<ulong> x = System.Runtime.Intrinsics.X86.Avx512F.ConvertToVector512UInt64(Vector128.LoadUnsafe(ref src, (nuint)i));
                Vector512<ulong> sign = (x >> 15) << 63;
                Vector512<ulong> exponent = (x >> 10) & Vector512.Create(31UL);
                Vector512<ulong> mantissa = x & Vector512.Create(1023UL);
                Vector512<ulong> normal = sign | ((exponent + Vector512.Create(1008UL)) << 52) | (mantissa << 42);
                Vector512<ulong> special = sign | Vector512.Create(0x7FFUL << 52) | (mantissa << 42);
                Vector512<ulong> subnormal = sign | (System.Runtime.Intrinsics.X86.Avx512DQ.ConvertToVector512Double(mantissa.AsInt64())
                    * Vector512.Create(1.0 / 16777216.0)).AsUInt64();
                Vector512<ulong> bits = Vector512.ConditionalSelect(Vector512.Equals(exponent, Vector512<ulong>.Zero), subnormal,
                    Vector512.ConditionalSelect(Vector512.Equals(exponent, Vector512.Create(31UL)), special, normal));
                bits.AsDouble().StoreUnsafe(ref dst, (nuint)i);
            }
        }
        for (; i < source.Length; i++)
        {
            destination[i] = (double)BitConverter.UInt16BitsToHalf(source[i]);
        }
    }

    public static void F16ToSingle(ReadOnlySpan<ushort> source, Span<float> destination) =>
        TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<ushort, Half>(source), destination);

    /// <summary>
    /// f32 → f16, round to nearest even, vectorised with integer arithmetic (.NET exposes no hardware
    /// f16 conversion, and TensorPrimitives' software one is several times slower). Same bits as System.Half.
    /// </summary>
    public static void SingleToF16(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        CheckLengths(source.Length, destination.Length);
        int i = 0;
        if (Cpu.Merge.MergeKernelPaths.VectorsAllowed && Vector512.IsHardwareAccelerated)
        {
            ref float src = ref MemoryMarshal.GetReference(source);
            ref ushort dst = ref MemoryMarshal.GetReference(destination);
            for (; i + 16 <= source.Length; i += 16)
            {
                ToF16(Vector512.LoadUnsafe(ref src, (nuint)i)).StoreUnsafe(ref dst, (nuint)i);
            }
        }
        for (; i < source.Length; i++)
        {
            destination[i] = SingleToF16(source[i]);
        }
    }

    /// <summary>Sixteen f32 values to f16 bits, round to nearest even (the algorithm of <see cref="SingleToF16(float)"/>, vectorised).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<ushort> ToF16(Vector512<float> values)
    {
        Vector512<uint> bits = values.AsUInt32();
        Vector512<uint> sign = (bits >> 16) & Vector512.Create(0x8000u);
        Vector512<uint> magnitude = bits & Vector512.Create(0x7FFF_FFFFu);
        // ≥ 65536 or NaN: infinity, or a quiet NaN keeping the top payload bits.
        Vector512<uint> isNan = Vector512.GreaterThan(magnitude, Vector512.Create(0x7F80_0000u));
        Vector512<uint> special = Vector512.ConditionalSelect(isNan,
            Vector512.Create(0x7E00u) | ((magnitude >> 13) & Vector512.Create(0x03FFu)), Vector512.Create(0x7C00u));
        // Subnormal f16: let the FPU round by adding 0.5, then subtract its bits.
        Vector512<uint> subnormal = (magnitude.AsSingle() + Vector512.Create(0.5f)).AsUInt32() - Vector512.Create(0x3F00_0000u);
        // Normal: rebias and round on the 13 dropped bits, ties to even.
        Vector512<uint> normal = (magnitude + Vector512.Create(0xC800_0FFFu) + ((magnitude >> 13) & Vector512<uint>.One)) >> 13;
        Vector512<uint> result = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(magnitude, Vector512.Create(0x4780_0000u)), special,
            Vector512.ConditionalSelect(Vector512.LessThan(magnitude, Vector512.Create(0x3880_0000u)), subnormal, normal)) | sign;
        return Vector256.Narrow(result.GetLower(), result.GetUpper());
    }

    public static void BF16ToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length);
        int i = 0;
        if (Cpu.Merge.MergeKernelPaths.VectorsAllowed && Vector512.IsHardwareAccelerated)
        {
            ref ushort src = ref MemoryMarshal.GetReference(source);
            ref float dst = ref MemoryMarshal.GetReference(destination);
            for (; i + 16 <= source.Length; i += 16)
            {
                Vector256<ushort> half = Vector256.LoadUnsafe(ref src, (nuint)i);
                (Vector256<uint> lo, Vector256<uint> hi) = Vector256.Widen(half);
                Vector512<uint> wide = Vector512.Create(lo, hi);
                Vector512.StoreUnsafe((wide << 16).AsSingle(), ref dst, (nuint)i);
            }
        }
        for (; i < source.Length; i++)
        {
            destination[i] = BF16ToSingle(source[i]);
        }
    }

    public static void SingleToBF16(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        CheckLengths(source.Length, destination.Length);
        int i = 0;
        if (Cpu.Merge.MergeKernelPaths.VectorsAllowed && Vector512.IsHardwareAccelerated)
        {
            ref float src = ref MemoryMarshal.GetReference(source);
            ref ushort dst = ref MemoryMarshal.GetReference(destination);
            Vector512<uint> absMask = Vector512.Create(0x7FFF_FFFFu);
            Vector512<uint> infinity = Vector512.Create(0x7F80_0000u);
            for (; i + 16 <= source.Length; i += 16)
            {
                Vector512<uint> bits = Vector512.LoadUnsafe(ref src, (nuint)i).AsUInt32();
                Vector512<uint> rounded = bits + Vector512.Create(0x7FFFu) + ((bits >> 16) & Vector512<uint>.One);
                Vector512<uint> quietNan = bits | Vector512.Create(0x0040_0000u);
                Vector512<uint> isNan = Vector512.GreaterThan(bits & absMask, infinity);
                Vector512<uint> result = Vector512.ConditionalSelect(isNan, quietNan, rounded) >> 16;
                Vector256<ushort> narrow = Vector256.Narrow(result.GetLower(), result.GetUpper());
                narrow.StoreUnsafe(ref dst, (nuint)i);
            }
        }
        for (; i < source.Length; i++)
        {
            destination[i] = SingleToBF16(source[i]);
        }
    }

    private static void CheckLengths(int source, int destination)
    {
        if (destination < source)
        {
            throw new ArgumentException($"destination holds {destination} elements, source has {source}");
        }
    }
}
