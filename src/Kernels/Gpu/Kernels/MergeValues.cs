using Dsoup.Kernels.Numerics;
using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>
/// Device-side value helpers for merge kernels: exact decoding of stored values into f64, and storing
/// f64 results rounded to nearest-even straight into the output format (<see cref="NearestEven"/>, the
/// same rounding the CPU mergers use).
/// One buffer holds every source; kernels see it through a view per element width.
/// </summary>
public static class MergeValues
{
    /// <summary>Element <paramref name="index"/> of a source of <paramref name="type"/> starting at element <paramref name="offset"/> of its view.</summary>
    internal static double Load(int type, long offset, long index, ArrayView<ushort> halves, ArrayView<float> singles, ArrayView<double> doubles)
    {
        if (type == (int)MergeValueType.F16)
        {
            return F16ToDouble(halves[offset + index]);
        }
        if (type == (int)MergeValueType.BF16)
        {
            return Interop.IntAsFloat((uint)halves[offset + index] << 16);
        }
        return type == (int)MergeValueType.F32 ? singles[offset + index] : doubles[offset + index];
    }

    /// <summary>f16 bits to f64, exactly (NaN and infinity keep their class).</summary>
    internal static double F16ToDouble(ushort bits)
    {
        ulong sign = (ulong)(bits >> 15) << 63;
        int exponent = (bits >> 10) & 31;
        ulong mantissa = (ulong)(bits & 1023);
        if (exponent == 31)
        {
            return Interop.IntAsFloat(sign | (0x7FFUL << 52) | (mantissa << 42));
        }
        if (exponent == 0)
        {
            double magnitude = mantissa * (1.0 / 16777216.0); // m · 2^−24, exact
            return sign != 0 ? -magnitude : magnitude;
        }
        return Interop.IntAsFloat(sign | ((ulong)(exponent - 15 + 1023) << 52) | (mantissa << 42));
    }

    /// <summary>True when an f64 is NaN or infinite.</summary>
    internal static bool IsNonFinite(double value) => (Interop.FloatAsInt(value) & 0x7FF0_0000_0000_0000UL) == 0x7FF0_0000_0000_0000UL;

    /// <summary>
    /// |value| as an ordered 64-bit key: the bits of a non-negative f64 order like the values.
    /// </summary>
    internal static ulong MagnitudeKey(double value) => Interop.FloatAsInt(value) & 0x7FFF_FFFF_FFFF_FFFFUL;

    /// <summary>Stores <paramref name="value"/> (finite) rounded to nearest-even as element <paramref name="index"/> of an output of <paramref name="type"/>.</summary>
    internal static void Store(int type, long index, double value, ArrayView<ushort> halves, ArrayView<float> singles, ArrayView<double> doubles)
    {
        if (type == (int)MergeValueType.F16)
        {
            halves[index] = (ushort)NearestEven.ToF16Bits(value);
        }
        else if (type == (int)MergeValueType.BF16)
        {
            halves[index] = (ushort)NearestEven.ToBF16Bits(value);
        }
        else if (type == (int)MergeValueType.F32)
        {
            singles[index] = Interop.IntAsFloat(NearestEven.ToF32Bits(value));
        }
        else
        {
            doubles[index] = value;
        }
    }
}
