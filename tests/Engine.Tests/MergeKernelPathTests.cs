using System.Numerics;
using Dsoup.Kernels.Cpu.Merge;
using Dsoup.Kernels.Numerics;
using Dsoup.Tests.Shared;

namespace Dsoup.Engine.Tests;

/// <summary>
/// The merge kernels outside the f16 fast path, on their vector and scalar paths, at odd lengths,
/// against references written here: means to bf16 and f32, the canonical shift, block fixed point
/// and packed sums.
/// </summary>
public class MergeKernelPathTests
{
    private static long[] RandomSums(int seed, int count, int maxBits)
    {
        var random = new System.Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            long magnitude = (long)Math.Round(Math.ScaleB(random.NextDouble(), random.Next(0, maxBits)));
            return random.Next(2) == 0 ? -magnitude : magnitude;
        }).ToArray();
    }

    [Theory]
    [InlineData("bf16", 3, -24, false)]
    [InlineData("bf16", 6, -40, false)]
    [InlineData("f32", 3, -24, false)]
    [InlineData("f32", 7, -149, false)]
    [InlineData("bf16", 3, -24, true)]
    [InlineData("f32", 7, -30, true)]
    public void MeansToBf16AndF32AreCorrectlyRounded(string target, long divisor, int exponent, bool scalar) => FixedPointKernelTests.OnPath(scalar, () =>
    {
        FloatFormat format = target == "bf16" ? FloatFormat.BF16 : FloatFormat.F32;
        long[] sums = RandomSums((int)divisor, 2001, 60);
        var means = new float[sums.Length];
        FixedPointKernels.Mean(sums, exponent, divisor, format, means);
        for (int i = 0; i < sums.Length; i++)
        {
            double expected = ExactRounding.Nearest(sums[i], exponent, divisor, format.MantissaBits, format.MinExponent);
            double actual = target == "bf16" ? HalfBits.BF16ToSingle(HalfBits.SingleToBF16(means[i])) : means[i];
            Assert.True(expected == actual, $"{sums[i]}·2^{exponent}/{divisor} → {target}: {actual:R}, expected {expected:R}");
        }
    });

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SharedTrailingZerosAndShiftsSeeEveryLane(bool scalar) => FixedPointKernelTests.OnPath(scalar, () =>
    {
        foreach (int length in new[] { 1, 7, 9, 33 })
        {
            for (int odd = 0; odd < length; odd++)
            {
                long[] sums = Enumerable.Range(0, length).Select(i => (long)(i + 1) << 12).ToArray();
                sums[odd] = -(3L << 5); // one lane, in a vector or in the tail, has fewer trailing zeros
                Assert.Equal(5, FixedPointKernels.SharedTrailingZeros(sums));
                long[] expected = sums.Select(s => s >> 5).ToArray();
                FixedPointKernels.ShiftRight(sums, 5);
                Assert.Equal(expected, sums);
            }
        }
        Assert.Equal(64, FixedPointKernels.SharedTrailingZeros(new long[13]));
    });

    [Theory]
    [InlineData(1, false)]
    [InlineData(-3, false)]
    [InlineData(1, true)]
    [InlineData(-3, true)]
    public void BlockFixedPointAddsExactMultiples(long weight, bool scalar) => FixedPointKernelTests.OnPath(scalar, () =>
    {
        var random = new System.Random(5);
        double[] values = Enumerable.Range(0, 1003).Select(_ => Math.ScaleB(random.Next(-4096, 4096), random.Next(-30, -10))).ToArray();
        Assert.True(BlockFixedPoint.Scan(values, out int low, out int high));
        var sums = Enumerable.Range(0, values.Length).Select(i => (long)i).ToArray();
        BlockFixedPoint.Accumulate(values, sums, low, weight);
        for (int i = 0; i < values.Length; i++)
        {
            Assert.Equal(i + weight * (long)Math.ScaleB(values[i], -low), sums[i]);
            Assert.True(Math.Abs(values[i]) < Math.ScaleB(1.0, high + 1));
        }
    });

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PackedSumsTakeTheNarrowestWidthAndRoundTrip(bool scalar) => FixedPointKernelTests.OnPath(scalar, () =>
    {
        // Widest value of each width, and one past it: two's complement ranges, negative edges included.
        (long Value, int Width)[] edges =
        [
            (0, 0), (127, 1), (-128, 1), (128, 2), (-129, 2), (32767, 2), (-32768, 2), (32768, 4), (-32769, 4),
            (int.MaxValue, 4), (int.MinValue, 4), (int.MaxValue + 1L, 8), (int.MinValue - 1L, 8), (long.MaxValue >> 1, 8),
        ];
        foreach (int length in new[] { 1, 9, 1001 })
        {
            foreach (var (value, width) in edges)
            {
                long[] sums = new long[length];
                sums[length / 2] = value;
                Assert.Equal(width, PackedSums.Width(sums));
                var packed = new byte[length * 8];
                PackedSums.Pack(sums, width, packed);
                var back = new long[length];
                PackedSums.Unpack(packed, width, back);
                Assert.Equal(sums, back);
                // The stored bytes are the little-endian two's complement of each sum, cut to the width.
                byte[] expected = sums.SelectMany(s => BitConverter.GetBytes(s).Take(width)).ToArray();
                Assert.Equal(expected, packed.Take(length * width).ToArray());
            }
        }
        Int128[] wide = [(Int128)long.MaxValue * 4, -(Int128)long.MaxValue * 3, 1];
        Assert.Equal(16, PackedSums.Width(wide));
        var wideBytes = new byte[wide.Length * 16];
        PackedSums.Pack(wide, 16, wideBytes);
        var wideBack = new Int128[wide.Length];
        PackedSums.Unpack(wideBytes, wideBack);
        Assert.Equal(wide, wideBack);
        Assert.Equal(4, PackedSums.Width(new Int128[] { -5, int.MinValue }));
    });
}
