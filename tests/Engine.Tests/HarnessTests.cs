using Dsoup.Engine.Tests.Harness;
using Xunit.Sdk;

namespace Dsoup.Engine.Tests;

/// <summary>The op harness's tolerance must catch the wrong results that matter, at any scale of values.</summary>
public class HarnessTests
{
    public static TheoryData<DType, double> Scales()
    {
        var data = new TheoryData<DType, double>();
        foreach (DType dtype in DTypeInfo.All)
        {
            foreach (double scale in new[] { 1e-3, 1.0, 1e3 })
            {
                data.Add(dtype, scale);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Scales))]
    public void ZeroScaledAndWrongResultsFailAndRoundingPasses(DType dtype, double scale)
    {
        double[] expected = Enumerable.Range(0, 64).Select(i => scale * Math.Sin(i + 1)).ToArray();
        float[] Round(IEnumerable<double> values) => values.Select(v => (float)v).ToArray();
        OpHarness.AssertMatches(Round(expected), expected, dtype, "the reference itself");
        // One rounding of the storage type on every element passes.
        double unit = dtype == DType.F32 ? 1.2e-7 : dtype == DType.F16 ? 9.8e-4 : 7.9e-3;
        OpHarness.AssertMatches(Round(expected.Select(v => v * (1 + unit / 2))), expected, dtype, "rounded once");
        Assert.Throws<FailException>(() => OpHarness.AssertMatches(new float[expected.Length], expected, dtype, "a zero gradient"));
        Assert.Throws<FailException>(() => OpHarness.AssertMatches(Round(expected.Select(v => v * 1e-6)), expected, dtype, "scaled by 1e-6"));
        Assert.Throws<FailException>(() => OpHarness.AssertMatches(Round(expected.Select(v => -v)), expected, dtype, "the wrong sign"));
    }

    [Fact]
    public void AMeanOfZeroFailsAgainstASmallMean()
    {
        double[] expected = [0.0123];
        Assert.Throws<FailException>(() => OpHarness.AssertMatches(new float[1], expected, DType.BF16, "a bf16 mean of 0"));
    }
}
