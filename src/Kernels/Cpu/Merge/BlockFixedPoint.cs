using System.Numerics;
using System.Runtime.Intrinsics;

namespace Dsoup.Kernels.Cpu.Merge;

/// <summary>
/// Exact sums of floating-point values in block fixed point: every value of a block is an integer
/// multiple of 2^E, so Σ wᵢ·xᵢ is an integer sum, the same in any order. The helpers here find the
/// exponent a block of values needs and add them into 64-bit integers.
/// </summary>
public static class BlockFixedPoint
{
    /// <summary>
    /// The exponent range of the finite values: the lowest set bit (E such that every value is a multiple
    /// of 2^E) and the highest (every |value| &lt; 2^(High+1)). Zeros are skipped; an all-zero block
    /// reports (int.MaxValue, int.MinValue). Returns false if a value is NaN or infinite.
    /// </summary>
    public static bool Scan(ReadOnlySpan<double> values, out int lowBit, out int highBit)
    {
        lowBit = int.MaxValue;
        highBit = int.MinValue;
        foreach (double v in values)
        {
            ulong bits = BitConverter.DoubleToUInt64Bits(v) & 0x7FFF_FFFF_FFFF_FFFFUL;
            if (bits == 0)
            {
                continue;
            }
            int field = (int)(bits >> 52);
            if (field == 0x7FF)
            {
                return false;
            }
            ulong significand = bits & 0x000F_FFFF_FFFF_FFFFUL;
            int exponent;
            if (field == 0)
            {
                exponent = -1074;
            }
            else
            {
                significand |= 1UL << 52;
                exponent = field - 1075;
            }
            int low = exponent + BitOperations.TrailingZeroCount(significand);
            int high = exponent + 63 - BitOperations.LeadingZeroCount(significand);
            if (low < lowBit)
            {
                lowBit = low;
            }
            if (high > highBit)
            {
                highBit = high;
            }
        }
        return true;
    }

    /// <summary>
    /// sums[i] += weight · values[i] / 2^exponent. The caller guarantees exactness: every value is a
    /// multiple of 2^exponent and no sum leaves the 64-bit range.
    /// </summary>
    public static void Accumulate(ReadOnlySpan<double> values, Span<long> sums, int exponent, long weight)
    {
        double scale = Math.ScaleB(1.0, -exponent);
        int i = 0;
        if (MergeKernelPaths.VectorsAllowed && Vector512.IsHardwareAccelerated && values.Length >= 8)
        {
            var s = Vector512.Create(scale);
            var w = Vector512.Create(weight);
            for (; i + 8 <= values.Length; i += 8)
            {
                Vector512<long> integers = Vector512.ConvertToInt64(Vector512.Create(values.Slice(i, 8)) * s);
                Vector512<long> acc = Vector512.Create<long>(sums.Slice(i, 8));
                (weight == 1 ? acc + integers : acc + integers * w).CopyTo(sums.Slice(i, 8));
            }
        }
        for (; i < values.Length; i++)
        {
            sums[i] += weight * (long)(values[i] * scale);
        }
    }

    /// <summary>The 128-bit form of <see cref="Accumulate"/>, for blocks whose range does not fit 64 bits.</summary>
    public static void Accumulate(ReadOnlySpan<double> values, Span<Int128> sums, int exponent, long weight)
    {
        for (int i = 0; i < values.Length; i++)
        {
            double v = values[i];
            if (v == 0)
            {
                continue;
            }
            long bits = BitConverter.DoubleToInt64Bits(Math.Abs(v));
            int field = (int)(bits >> 52);
            long significand = (bits & 0x000F_FFFF_FFFF_FFFFL) | (field == 0 ? 0 : 1L << 52);
            int shift = (field == 0 ? -1074 : field - 1075) - exponent;
            Int128 integer = shift >= 0 ? (Int128)significand << shift : significand >> -shift; // only trailing zeros drop
            sums[i] += weight * (v < 0 ? -integer : integer);
        }
    }
}
