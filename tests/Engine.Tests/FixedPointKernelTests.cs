using System.Numerics;
using Dsoup.Kernels.Cpu.Merge;

namespace Dsoup.Engine.Tests;

/// <summary>
/// The exact-soup kernels against an independent integer reference: f16 values summed exactly as
/// multiples of 2^−24, and means rounded to the nearest f16 (ties to even) found by comparing the
/// candidate neighbours in BigInteger arithmetic. Every kernel runs on its vector path and on its scalar
/// path (<see cref="MergeKernelPaths.ScalarOnly"/>, what AVX2 and ARM hosts run), at odd lengths so the
/// vector loops leave scalar tails.
/// </summary>
public class FixedPointKernelTests
{
    /// <summary>Runs <paramref name="test"/> with the merge kernels on the scalar path or not, on this thread.</summary>
    internal static void OnPath(bool scalar, Action test)
    {
        bool before = MergeKernelPaths.ScalarOnly;
        MergeKernelPaths.ScalarOnly = scalar;
        try
        {
            test();
        }
        finally
        {
            MergeKernelPaths.ScalarOnly = before;
        }
    }

    [Theory]
    [InlineData(1, 30, false)]
    [InlineData(1, 20, false)]
    [InlineData(3, 14, false)]
    [InlineData(1000, 10, false)]
    [InlineData(1, 30, true)]
    [InlineData(3, 14, true)]
    [InlineData(1000, 10, true)]
    public void F16AccumulationIsExactInBothWidths(int weight, int maxExponentField, bool scalar) => OnPath(scalar, () =>
    {
        // The 32-bit form only where its precondition holds: weight · |value| · 2^24 < weight · 2^(field + 10) stays below 2^31.
        ushort[] bits = RandomFiniteF16(maxExponentField, 1003, maxExponentField);
        var wide = new long[bits.Length];
        var narrow = new int[bits.Length];
        Assert.True(FixedPointKernels.AccumulateF16(bits, wide, weight));
        Assert.Equal(maxExponentField, FixedPointKernels.MaxF16ExponentField(bits));
        bool narrowFits = weight * Math.ScaleB(1.0, maxExponentField + 10) < int.MaxValue;
        if (narrowFits)
        {
            FixedPointKernels.AccumulateF16Small(bits, narrow, weight);
        }
        for (int i = 0; i < bits.Length; i++)
        {
            long expected = weight * ScaledF16(bits[i]);
            Assert.Equal(expected, wide[i]);
            if (narrowFits)
            {
                Assert.Equal(expected, narrow[i]);
            }
        }
    });

    [Theory]
    [InlineData(false, 17)]
    [InlineData(false, 68)]
    [InlineData(true, 17)]
    [InlineData(true, 68)]
    public void F16AccumulationRefusesNonFiniteValues(bool scalar, int where) => OnPath(scalar, () =>
    {
        // At 17 the infinity sits in a vector, at 68 in the scalar tail of 71 elements.
        ushort[] bits = RandomFiniteF16(1, 71, maxExponentField: 30);
        bits[where] = 0x7C00; // +infinity
        Assert.False(FixedPointKernels.AccumulateF16(bits, new long[bits.Length], 1));
        Assert.Equal(31, FixedPointKernels.MaxF16ExponentField(bits));
    });

    [Theory]
    [InlineData(2, false)]
    [InlineData(3, false)]
    [InlineData(7, false)]
    [InlineData(8, false)]
    [InlineData(10, false)]
    [InlineData(3, true)]
    [InlineData(8, true)]
    public void F16MeansAreCorrectlyRounded(long divisor, bool scalar) => OnPath(scalar, () =>
    {
        var random = new System.Random((int)divisor);
        var sums = new List<long>();
        for (int i = 0; i < 4000; i++)
        {
            // Sums of `divisor` f16 values in f16 units of 2^-24, from subnormal to large magnitudes.
            long magnitude = (long)Math.Round(Math.ScaleB(random.NextDouble(), random.Next(0, 36)));
            sums.Add(random.Next(2) == 0 ? -magnitude : magnitude);
        }
        // Exact ties between two f16 values and sums one unit either side of them.
        for (int i = 0; i < 500; i++)
        {
            long upper = (1024 + random.Next(1024)) << random.Next(0, 20);
            long tie = upper * 2 + (1L << Math.Max(0, BitOperations.Log2((ulong)upper) - 10));
            foreach (long delta in new long[] { -1, 0, 1 })
            {
                sums.Add(tie * divisor / 2 + delta);
            }
        }
        sums.Add(0); // an odd count: the vector loop leaves a tail
        long[] input = [.. sums];
        var output = new ushort[input.Length];
        FixedPointKernels.MeanF16(input, FixedPointKernels.F16Exponent, divisor, output);
        for (int i = 0; i < input.Length; i++)
        {
            Assert.True(NearestF16(input[i], divisor) == output[i], $"sum {input[i]} / {divisor}: got 0x{output[i]:X4}, expected 0x{NearestF16(input[i], divisor):X4}");
        }
    });

    private static ushort[] RandomFiniteF16(int seed, int count, int maxExponentField)
    {
        var random = new System.Random(seed);
        var bits = new ushort[count];
        for (int i = 0; i < count; i++)
        {
            int field = random.Next(0, maxExponentField + 1);
            bits[i] = (ushort)((random.Next(2) << 15) | (field << 10) | random.Next(1024));
        }
        return bits;
    }

    /// <summary>An f16 value times 2^24, as an integer.</summary>
    private static long ScaledF16(ushort bits)
    {
        int field = (bits >> 10) & 31, mantissa = bits & 1023;
        long magnitude = field == 0 ? mantissa : (long)(1024 + mantissa) << (field - 1);
        return (bits & 0x8000) != 0 ? -magnitude : magnitude;
    }

    /// <summary>
    /// The f16 nearest sum·2^−24/divisor, ties to an even mantissa: the neighbours of a double estimate
    /// compared exactly (|candidate|·2^24·divisor against |sum|).
    /// </summary>
    private static ushort NearestF16(long sum, long divisor)
    {
        BigInteger target = BigInteger.Abs(sum);
        int estimate = BitConverter.HalfToUInt16Bits((Half)Math.ScaleB(Math.Abs((double)sum) / divisor, FixedPointKernels.F16Exponent));
        int best = -1;
        BigInteger bestDistance = 0;
        for (int magnitude = Math.Max(0, estimate - 3); magnitude <= Math.Min(0x7BFF, estimate + 3); magnitude++)
        {
            BigInteger distance = BigInteger.Abs(ScaledF16((ushort)magnitude) * (BigInteger)divisor - target);
            int order = best < 0 ? -1 : distance.CompareTo(bestDistance);
            if (order < 0 || (order == 0 && (magnitude & 1) == 0))
            {
                best = magnitude;
                bestDistance = distance;
            }
        }
        return (ushort)((sum < 0 ? 0x8000 : 0) | best);
    }
}
