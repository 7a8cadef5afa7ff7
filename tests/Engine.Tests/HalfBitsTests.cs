using Dsoup.Kernels.Numerics;

namespace Dsoup.Engine.Tests;

public class HalfBitsTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void F16ToDoubleIsExactForEveryBitPatternInVectorsAndTails(bool scalar) => FixedPointKernelTests.OnPath(scalar, () =>
    {
        ushort[] all = Enumerable.Range(0, 65536).Select(b => (ushort)b).ToArray();
        foreach (int offset in new[] { 0, 3 }) // 3: the vector loop starts off the 8-lane grid and a tail remains
        {
            var decoded = new double[all.Length - offset];
            HalfBits.F16ToDouble(all.AsSpan(offset), decoded);
            for (int i = 0; i < decoded.Length; i++)
            {
                double expected = (double)BitConverter.UInt16BitsToHalf(all[offset + i]);
                Assert.True(BitConverter.DoubleToUInt64Bits(expected) == BitConverter.DoubleToUInt64Bits(decoded[i]) || (double.IsNaN(expected) && double.IsNaN(decoded[i])),
                    $"0x{all[offset + i]:X4}: {decoded[i]:R}, expected {expected:R}");
            }
        }
    });

    /// <summary>Round-to-nearest-even to a float format with <paramref name="mantissaBits"/>, computed exactly in f64.</summary>
    private static double ReferenceRound(float x, int mantissaBits, int minExponent, double overflowAt)
    {
        if (float.IsNaN(x) || float.IsInfinity(x) || x == 0)
        {
            return x;
        }
        double v = x;
        if (Math.Abs(v) >= overflowAt)
        {
            return v > 0 ? double.PositiveInfinity : double.NegativeInfinity;
        }
        int exponent = Math.Max((int)Math.Floor(Math.Log2(Math.Abs(v))), minExponent);
        double ulp = Math.ScaleB(1.0, exponent - mantissaBits);
        double rounded = Math.Round(v / ulp, MidpointRounding.ToEven) * ulp;
        return rounded == 0 ? (v < 0 ? -0.0 : 0.0) : rounded;
    }

    // f16: 10 mantissa bits, min normal exponent −14, values ≥ 65520 (halfway past 65504) overflow.
    private static double ReferenceF16(float x) => ReferenceRound(x, 10, -14, 65520.0);

    // bf16: 7 mantissa bits, min exponent −126, overflow halfway past the largest finite value.
    private static double ReferenceBF16(float x) => ReferenceRound(x, 7, -126, (2.0 - Math.ScaleB(1, -8)) * Math.ScaleB(1, 127));

    private static IEnumerable<float> Probes()
    {
        var random = new System.Random(7);
        for (int i = 0; i < 200_000; i++)
        {
            yield return BitConverter.Int32BitsToSingle(random.Next() ^ (random.Next() << 1));
        }
        // Exactly halfway between neighbouring f16 and bf16 values, where the tie rule decides.
        for (int h = 0; h < 0x7C00; h += 37)
        {
            float lo = HalfBits.F16ToSingle((ushort)h), hi = HalfBits.F16ToSingle((ushort)(h + 1));
            yield return (lo + hi) / 2;
            yield return -(lo + hi) / 2;
        }
        for (uint b = 0; b < 0x7F80; b += 13)
        {
            float lo = HalfBits.BF16ToSingle((ushort)b), hi = HalfBits.BF16ToSingle((ushort)(b + 1));
            yield return (float)(((double)lo + hi) / 2);
        }
        yield return 65504f;
        yield return 65519.99f;
        yield return 65520f;
        yield return float.MaxValue;
        yield return float.Epsilon;
        yield return -0f;
    }

    [Fact]
    public void F32ToF16RoundsToNearestEven()
    {
        foreach (float x in Probes().Where(float.IsFinite))
        {
            double expected = ReferenceF16(x);
            double actual = HalfBits.F16ToSingle(HalfBits.SingleToF16(x));
            Assert.True(expected.Equals(actual), $"f16({x:R}) = {actual:R}, expected {expected:R}");
        }
    }

    [Fact]
    public void F32ToBF16RoundsToNearestEven()
    {
        foreach (float x in Probes().Where(float.IsFinite))
        {
            double expected = ReferenceBF16(x);
            double actual = HalfBits.BF16ToSingle(HalfBits.SingleToBF16(x));
            Assert.True(expected.Equals(actual), $"bf16({x:R}) = {actual:R}, expected {expected:R}");
        }
    }

    [Fact]
    public void GpuKernelF16RoundingMatchesTheHost()
    {
        // The kernels' integer rounding must give the host's bits for every input, NaN included.
        foreach (float x in Probes().Append(float.NaN).Append(float.NegativeInfinity).Append(-float.NaN))
        {
            Assert.Equal(HalfBits.SingleToF16(x), Dsoup.Kernels.Gpu.F16Element.RoundToF16(BitConverter.SingleToUInt32Bits(x)));
        }
        for (uint bits = 0; bits < 0x4780_0000u; bits += 4099)
        {
            Assert.Equal(HalfBits.SingleToF16(BitConverter.UInt32BitsToSingle(bits)), Dsoup.Kernels.Gpu.F16Element.RoundToF16(bits));
        }
    }

    [Fact]
    public void EveryF16AndBF16PatternRoundTripsThroughF32()
    {
        for (int bits = 0; bits < 65536; bits++)
        {
            ushort h = (ushort)bits;
            float viaF16 = HalfBits.F16ToSingle(h);
            float viaBF16 = HalfBits.BF16ToSingle(h);
            if (float.IsNaN(viaF16))
            {
                Assert.True(float.IsNaN(HalfBits.F16ToSingle(HalfBits.SingleToF16(viaF16))));
            }
            else
            {
                Assert.Equal(h, HalfBits.SingleToF16(viaF16));
            }
            if (float.IsNaN(viaBF16))
            {
                Assert.True(float.IsNaN(HalfBits.BF16ToSingle(HalfBits.SingleToBF16(viaBF16))));
            }
            else
            {
                Assert.Equal(h, HalfBits.SingleToBF16(viaBF16));
            }
        }
    }

    [Fact]
    public void NaNStaysNaNAndInfinityStaysInfinite()
    {
        float[] specials = [float.NaN, -float.NaN, BitConverter.Int32BitsToSingle(0x7F800001), float.PositiveInfinity, float.NegativeInfinity];
        foreach (float x in specials)
        {
            Assert.Equal(float.IsNaN(x), float.IsNaN(HalfBits.BF16ToSingle(HalfBits.SingleToBF16(x))));
            Assert.Equal(float.IsNaN(x), float.IsNaN(HalfBits.F16ToSingle(HalfBits.SingleToF16(x))));
            if (float.IsInfinity(x))
            {
                Assert.Equal(x, HalfBits.BF16ToSingle(HalfBits.SingleToBF16(x)));
                Assert.Equal(x, HalfBits.F16ToSingle(HalfBits.SingleToF16(x)));
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SpanConversionsMatchScalarOnesAtEveryLength(bool scalar) => FixedPointKernelTests.OnPath(scalar, () =>
    {
        float[] values = Probes().Take(1037).ToArray();
        values[5] = float.NaN;
        var bf = new ushort[values.Length];
        var f16 = new ushort[values.Length];
        HalfBits.SingleToBF16(values, bf);
        HalfBits.SingleToF16(values, f16);
        var back = new float[values.Length];
        HalfBits.BF16ToSingle(bf, back);
        for (int i = 0; i < values.Length; i++)
        {
            Assert.Equal(HalfBits.SingleToBF16(values[i]), bf[i]);
            Assert.Equal(HalfBits.SingleToF16(values[i]), f16[i]);
            Assert.Equal(BitConverter.SingleToInt32Bits(HalfBits.BF16ToSingle(bf[i])), BitConverter.SingleToInt32Bits(back[i]));
        }
    });
}
