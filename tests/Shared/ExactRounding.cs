using System.Numerics;

namespace Dsoup.Tests.Shared;

/// <summary>
/// An independent oracle for correctly rounded means: the value nearest to sum · 2^exponent / divisor in
/// a binary format (ties to an even significand), chosen among the neighbours of a double estimate by
/// exact BigInteger comparison. Shared by the kernel and the soup tests; it calls no production code.
/// </summary>
public static class ExactRounding
{
    /// <summary>Fixed-point scale of the comparisons: every value compared is a multiple of 2^−Scale.</summary>
    private const int Scale = 1100;

    /// <param name="mantissaBits">significand bits after the point (f16 10, bf16 7, f32 23)</param>
    /// <param name="minExponent">the smallest normal exponent (f16 −14, bf16 and f32 −126)</param>
    public static double Nearest(BigInteger sum, int exponent, long divisor, int mantissaBits, int minExponent)
    {
        if (sum.IsZero)
        {
            return 0.0;
        }
        // Only the top 64 bits matter for the estimate; a 1100-bit sum would overflow a double.
        int drop = (int)Math.Max(0, BigInteger.Abs(sum).GetBitLength() - 64);
        double estimate = Math.ScaleB((double)(sum >> drop) / divisor, exponent + drop);
        int binade = Math.Max(Math.ILogB(estimate), minExponent);
        BigInteger target = sum << (exponent + Scale); // the exact mean times divisor, scaled
        double best = double.NaN;
        BigInteger bestDistance = 0;
        // Candidates on the grids of the estimate's binade and its neighbours (the estimate may sit across a boundary).
        for (int b = binade - 1; b <= binade + 1; b++)
        {
            double ulp = Math.ScaleB(1.0, Math.Max(b, minExponent) - mantissaBits);
            double center = Math.Round(estimate / ulp);
            for (double k = center - 2; k <= center + 2; k++)
            {
                double candidate = k * ulp;
                if (!OnGrid(candidate, mantissaBits, minExponent))
                {
                    continue;
                }
                BigInteger distance = BigInteger.Abs(target - divisor * Scaled(candidate));
                int order = double.IsNaN(best) ? -1 : distance.CompareTo(bestDistance);
                if (order < 0 || (order == 0 && IsEven(candidate, mantissaBits, minExponent) && !IsEven(best, mantissaBits, minExponent)))
                {
                    best = candidate;
                    bestDistance = distance;
                }
            }
        }
        return best;
    }

    /// <summary>An exact double times 2^Scale, as an integer.</summary>
    public static BigInteger Scaled(double value)
    {
        if (value == 0)
        {
            return BigInteger.Zero;
        }
        long bits = BitConverter.DoubleToInt64Bits(Math.Abs(value));
        int field = (int)(bits >> 52);
        long significand = (bits & 0xF_FFFF_FFFF_FFFFL) | (field == 0 ? 0 : 1L << 52);
        int shift = (field == 0 ? -1074 : field - 1075) + Scale;
        BigInteger magnitude = (BigInteger)significand << shift;
        return value < 0 ? -magnitude : magnitude;
    }

    /// <summary>Σ weightᵢ · valueᵢ exactly, as a multiple of 2^−Scale (pass exponent −Scale to <see cref="Nearest"/>).</summary>
    public static BigInteger WeightedSum(IReadOnlyList<double> values, IReadOnlyList<long> weights)
    {
        BigInteger sum = 0;
        for (int i = 0; i < values.Count; i++)
        {
            sum += weights[i] * Scaled(values[i]);
        }
        return sum;
    }

    public const int SumExponent = -Scale;

    private static bool OnGrid(double value, int mantissaBits, int minExponent)
    {
        if (value == 0)
        {
            return true;
        }
        int binade = Math.Max(Math.ILogB(value), minExponent);
        double steps = value / Math.ScaleB(1.0, binade - mantissaBits);
        return steps == Math.Floor(steps);
    }

    private static bool IsEven(double value, int mantissaBits, int minExponent)
    {
        if (value == 0)
        {
            return true;
        }
        int binade = Math.Max(Math.ILogB(value), minExponent);
        return Math.Abs(value / Math.ScaleB(1.0, binade - mantissaBits)) % 2 == 0;
    }
}
