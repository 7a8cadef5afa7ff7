using ILGPU;

namespace Dsoup.Kernels.Numerics;

/// <summary>
/// Round-to-nearest-even from f64 straight into f16, bf16 or f32 bits (never through f32 for the 16-bit
/// formats, which would round twice), with integer arithmetic on the bits only, so that the CPU mergers and
/// the GPU kernels (which call it too) store the same bits.
/// </summary>
public static class NearestEven
{
    public static uint ToF16Bits(double value) => ToBits(value, 10, -14, 15, 5);

    public static uint ToBF16Bits(double value) => ToBits(value, 7, -126, 127, 8);

    public static uint ToF32Bits(double value) => ToBits(value, 23, -126, 127, 8);

    /// <summary>
    /// An f64 rounded to nearest-even into a binary format with <paramref name="mantissaBits"/> fraction bits,
    /// exponents from <paramref name="minExponent"/> to <paramref name="maxExponent"/> and
    /// <paramref name="exponentBits"/> exponent bits, returned as that format's bits; too large → infinity,
    /// NaN → a quiet NaN.
    /// </summary>
    public static uint ToBits(double value, int mantissaBits, int minExponent, int maxExponent, int exponentBits)
    {
        ulong bits = Interop.FloatAsInt(value);
        uint sign = (uint)(bits >> 63) << (mantissaBits + exponentBits);
        ulong magnitude = bits & 0x7FFF_FFFF_FFFF_FFFFUL;
        int exponent = (int)(magnitude >> 52) - 1023;
        if (exponent > maxExponent)
        {
            uint nan = magnitude > 0x7FF0_0000_0000_0000UL ? 1u << (mantissaBits - 1) : 0;
            return sign | (((1u << exponentBits) - 1) << mantissaBits) | nan;
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

}
