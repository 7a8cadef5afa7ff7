using Dsoup.Models.Evaluation;

namespace Dsoup.Models.Tests.Evaluation;

public sealed class PairedDifferenceTests
{
    [Fact]
    public void MeanAndStandardErrorOfTheDifferencesAsWorkedByHand()
    {
        // d = b − a = [0.5, 0, 0.5, 1]: mean 0.5; sample variance (0 + 0.25 + 0 + 0.25)/3 = 1/6; s.e. = √(1/6 / 4).
        var d = PairedDifference.Of([1f, 2f, 3f, 4f], [1.5f, 2f, 3.5f, 5f]);
        Assert.Equal(0.5, d.Mean, 12);
        Assert.Equal(Math.Sqrt(1.0 / 24), d.StandardError, 12);
        Assert.Equal(4, d.Count);
        Assert.False(d.ImprovesBeyond(0));
        Assert.True(d.WorsensBeyond(2.4)); // 0.5 / 0.2041 = 2.45 standard errors
        Assert.False(d.WorsensBeyond(2.5));
    }

    [Fact]
    public void ImprovementNeedsToClearTheTolerance()
    {
        var better = PairedDifference.Of([1.5f, 2f, 3.5f, 5f], [1f, 2f, 3f, 4f]);
        Assert.True(better.ImprovesBeyond(2.4));
        Assert.False(better.ImprovesBeyond(2.5));
        Assert.Throws<ArgumentException>(() => PairedDifference.Of([1f], [1f, 2f]));
    }
}
