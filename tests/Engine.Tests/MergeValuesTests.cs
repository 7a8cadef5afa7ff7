using Dsoup.Kernels.Cpu.Merge;
using Dsoup.Kernels.Gpu.Kernels;
using Dsoup.Kernels.Numerics;

namespace Dsoup.Engine.Tests;

/// <summary>The merge kernels' value helpers and <see cref="NearestEven"/>, run as plain .NET code against the CPU merge's definitions.</summary>
public class MergeValuesTests
{
    [Fact]
    public void F16DecodingIsExactForEveryBitPattern()
    {
        for (int bits = 0; bits < 65536; bits++)
        {
            double expected = (double)BitConverter.UInt16BitsToHalf((ushort)bits);
            double actual = MergeValues.F16ToDouble((ushort)bits);
            Assert.True(expected.Equals(actual) || (double.IsNaN(expected) && double.IsNaN(actual)), $"0x{bits:X4}: {actual:R}, expected {expected:R}");
        }
    }

    public static TheoryData<string> Formats() => ["f16", "bf16", "f32"];

    [Theory]
    [MemberData(nameof(Formats))]
    public void NearestEvenFromF64MatchesCorrectRounding(string formatName)
    {
        FloatFormat format = formatName switch { "f16" => FloatFormat.F16, "bf16" => FloatFormat.BF16, _ => FloatFormat.F32 };
        int exponentBits = formatName == "f16" ? 5 : 8;
        var random = new System.Random(5);
        var values = new List<double> { 0.0, -0.0, format.MaxFinite, -format.MaxFinite, 1e300, -1e300, double.Epsilon, double.PositiveInfinity, double.NegativeInfinity };
        for (int i = 0; i < 200_000; i++)
        {
            // Magnitudes from far below the subnormal range to beyond overflow; every fourth value sits on a
            // rounding midpoint of the target (or next to one), where double rounding would show.
            int exponent = random.Next(format.MinExponent - format.MantissaBits - 4, format.MaxExponent + 3);
            double value = Math.ScaleB(1 + random.NextDouble(), exponent) * (random.Next(2) == 0 ? 1 : -1);
            if (i % 4 == 0)
            {
                double ulp = Math.ScaleB(1.0, Math.Max(exponent, format.MinExponent) - format.MantissaBits);
                value = (Math.Floor(value / ulp) + 0.5) * ulp;
                value = (i % 8) switch { 0 => value, 4 => Math.BitIncrement(value), _ => Math.BitDecrement(value) };
            }
            values.Add(value);
        }
        foreach (double value in values)
        {
            double rounded = CorrectRounding.Round(value, format);
            uint expected = formatName switch
            {
                "f16" => BitConverter.HalfToUInt16Bits((Half)rounded),
                "bf16" => BitConverter.SingleToUInt32Bits((float)rounded) >> 16,
                _ => BitConverter.SingleToUInt32Bits((float)rounded),
            };
            uint actual = NearestEven.ToBits(value, format.MantissaBits, format.MinExponent, format.MaxExponent, exponentBits);
            Assert.True(expected == actual, $"{formatName} {value:R}: 0x{actual:X}, expected 0x{expected:X}");
        }
        uint nan = NearestEven.ToBits(double.NaN, format.MantissaBits, format.MinExponent, format.MaxExponent, exponentBits);
        uint infinity = ((1u << exponentBits) - 1) << format.MantissaBits;
        Assert.True((nan & infinity) == infinity && (nan & ((1u << format.MantissaBits) - 1)) != 0, $"NaN became 0x{nan:X}");
    }
}
