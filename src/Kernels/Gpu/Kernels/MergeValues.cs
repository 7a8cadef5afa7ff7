using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>
/// Device-side value helpers for merge kernels: exact decoding of stored values into f64, and
/// round-to-nearest-even from f64 straight into a narrower format (never through f32, which would round
/// twice). Plain integer arithmetic on the bits, so they give the same results on every backend.
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

    /// <summary>
    /// A finite f64 rounded to nearest-even into a binary format with <paramref name="mantissaBits"/>
    /// fraction bits, exponents from <paramref name="minExponent"/> to <paramref name="maxExponent"/>
    /// and <paramref name="exponentBits"/> exponent bits, returned as that format's bits; too large → infinity.
    /// </summary>
    public static uint RoundToBits(double value, int mantissaBits, int minExponent, int maxExponent, int exponentBits)
    {
        ulong bits = Interop.FloatAsInt(value);
        uint sign = (uint)(bits >> 63) << (mantissaBits + exponentBits);
        ulong magnitude = bits & 0x7FFF_FFFF_FFFF_FFFFUL;
        int exponent = (int)(magnitude >> 52) - 1023;
        if (exponent > maxExponent)
        {
            return sign | (((1u << exponentBits) - 1) << mantissaBits);
        }
        if (exponent >= minExponent)
        {
            int dropped = 52 - mantissaBits;
            ulong fraction = magnitude & ((1UL << 52) - 1);
            ulong rest = fraction & ((1UL << dropped) - 1), half = 1UL << (dropped - 1);
            uint result = ((uint)(exponent - minExponent + 1) << mantissaBits) | (uint)(fraction >> dropped);
            if (rest > half || (rest == half && (result & 1) != 0))
            {
                result++; // a carry moves into the exponent, and past the largest finite value into infinity
            }
            return sign | result;
        }
        // Below the normal range: count in steps of 2^(minExponent − mantissaBits); the scaling is exact.
        double steps = Interop.IntAsFloat(magnitude) * Interop.IntAsFloat((ulong)(1023 + mantissaBits - minExponent) << 52);
        ulong whole = (ulong)steps;
        double fractionOfStep = steps - whole;
        if (fractionOfStep > 0.5 || (fractionOfStep == 0.5 && (whole & 1) != 0))
        {
            whole++;
        }
        return sign | (uint)whole;
    }

    /// <summary>Stores <paramref name="value"/> (finite) rounded to nearest-even as element <paramref name="index"/> of an output of <paramref name="type"/>.</summary>
    internal static void Store(int type, long index, double value, ArrayView<ushort> halves, ArrayView<float> singles, ArrayView<double> doubles)
    {
        if (type == (int)MergeValueType.F16)
        {
            halves[index] = (ushort)RoundToBits(value, 10, -14, 15, 5);
        }
        else if (type == (int)MergeValueType.BF16)
        {
            halves[index] = (ushort)RoundToBits(value, 7, -126, 127, 8);
        }
        else if (type == (int)MergeValueType.F32)
        {
            singles[index] = Interop.IntAsFloat(RoundToBits(value, 23, -126, 127, 8));
        }
        else
        {
            doubles[index] = value;
        }
    }
}
