using System.Numerics;

namespace Dsoup.Kernels.Cpu.Merge;

/// <summary>
/// Rounds to a <see cref="FloatFormat"/> to nearest, ties to even: from a double (one rounding), or
/// from an exact rational S · 2^E / D (block fixed-point soup sums). The rational path takes the double
/// route when that cannot be wrong (the double lies far from a rounding midpoint) and falls back to
/// exact integer arithmetic otherwise, so results are correctly rounded, not merely close.
/// </summary>
public static class CorrectRounding
{
    /// <summary>A relative distance from a midpoint far larger than the double route's error (2^−51).</summary>
    private const double MidpointMargin = 1.0 / (1 << 20);

    /// <summary>The value of <paramref name="value"/> rounded to <paramref name="format"/>, as a double (exact in it).</summary>
    public static double Round(double value, FloatFormat format)
    {
        if (value == 0 || !double.IsFinite(value))
        {
            return value;
        }
        double ulp = Ulp(value, format);
        double rounded = Math.Round(value / ulp, MidpointRounding.ToEven) * ulp;
        return Math.Abs(rounded) > format.MaxFinite ? (value > 0 ? double.PositiveInfinity : double.NegativeInfinity) : rounded;
    }

    /// <summary>S · 2^E / D correctly rounded to <paramref name="format"/> (D &gt; 0).</summary>
    public static double RoundRational(Int128 sum, int exponent, long divisor, FloatFormat format)
    {
        if (sum == 0)
        {
            return 0.0;
        }
        // (double)S and the division each err by at most 2^−53 relative; the scaling is exact while the
        // result stays a normal double, so q = value/ulp (at most 2^25) is off by less than 2^−26.
        double approximate = Math.ScaleB((double)sum / divisor, exponent);
        if (double.IsFinite(approximate) && Math.Abs(approximate) > 1e-290)
        {
            double q = Math.Abs(approximate / Ulp(approximate, format));
            if (Math.Abs(q - Math.Floor(q) - 0.5) > MidpointMargin)
            {
                return Round(approximate, format);
            }
        }
        return RoundExactly(sum, exponent, divisor, format);
    }

    /// <summary>
    /// Exact integer rounding of S · 2^E / D: for near-ties and for values outside the double range.
    /// Works in 64-bit, then 128-bit integers, and only reaches for BigInteger when neither can hold the
    /// shifted operands.
    /// </summary>
    public static double RoundExactly(Int128 sum, int exponent, long divisor, FloatFormat format)
    {
        if (sum == 0)
        {
            return 0.0;
        }
        UInt128 magnitude = (UInt128)Int128.Abs(sum);
        // e = ⌊log2(|S|/D)⌋ + E, from the bit lengths and one comparison.
        int l = BitLength(magnitude) - BitLength((UInt128)(ulong)divisor);
        // |S| < D·2^l ⟺ ⌊|S| / 2^l⌋ < D (l ≥ 0); for l < 0, −l ≤ 63 so |S|·2^−l fits 128 bits.
        bool below = l >= 0 ? (magnitude >> l) < (ulong)divisor : (magnitude << -l) < (ulong)divisor;
        long eEffective = Math.Max((long)l - (below ? 1 : 0) + exponent, format.MinExponent);
        // t = |S| · 2^(E − eEff + p) / D, rounded to nearest even.
        long shift = exponent - eEffective + format.MantissaBits;
        int numeratorBits = BitLength(magnitude) + (int)Math.Max(0, shift);
        int denominatorBits = BitLength((UInt128)(ulong)divisor) + (int)Math.Max(0, -shift);
        UInt128 t;
        if (numeratorBits <= 126 && denominatorBits <= 126)
        {
            UInt128 numerator = shift >= 0 ? magnitude << (int)shift : magnitude;
            UInt128 denominator = shift >= 0 ? (ulong)divisor : (UInt128)(ulong)divisor << (int)-shift;
            (t, UInt128 remainder) = UInt128.DivRem(numerator, denominator);
            UInt128 twice = remainder << 1;
            if (twice > denominator || (twice == denominator && (t & 1) != 0))
            {
                t++;
            }
        }
        else
        {
            t = RoundBig(magnitude, shift, divisor);
        }
        double result = Math.ScaleB((double)t, (int)(eEffective - format.MantissaBits));
        if (result > format.MaxFinite)
        {
            result = double.PositiveInfinity;
        }
        return sum < 0 ? -result : result;
    }

    private static UInt128 RoundBig(UInt128 magnitude, long shift, long divisor)
    {
        var m = (BigInteger)magnitude;
        var d = new BigInteger(divisor);
        BigInteger numerator = shift >= 0 ? m << (int)shift : m;
        BigInteger denominator = shift >= 0 ? d : d << (int)-shift;
        BigInteger t = BigInteger.DivRem(numerator, denominator, out BigInteger remainder);
        int comparison = (remainder * 2).CompareTo(denominator);
        if (comparison > 0 || (comparison == 0 && !t.IsEven))
        {
            t += 1;
        }
        return (UInt128)t;
    }

    private static int BitLength(UInt128 value) => 128 - (int)UInt128.LeadingZeroCount(value);

    private static double Ulp(double value, FloatFormat format)
    {
        int e = Math.Max(Math.ILogB(value), format.MinExponent);
        return Math.ScaleB(1.0, e - format.MantissaBits);
    }
}
