namespace Dsoup.Engine.Tests;

/// <summary>Bad shapes fail with an error that names the op and the shapes involved.</summary>
public class NnOpErrorTests
{
    private static Tensor T(params int[] dims) => Tensor.Zeros(new Shape(dims), DType.F32, Device.Get("cpu"));

    private static void Fails(Func<Tensor> op, params string[] parts)
    {
        var error = Assert.Throws<ArgumentException>(() => op());
        foreach (string part in parts)
        {
            Assert.Contains(part, error.Message);
        }
    }

    [Fact]
    public void GroupNormNeedsChannelsDivisibleByGroups() =>
        Fails(() => Ops.GroupNorm(T(2, 10, 4, 4), 4, T(10), T(10)), "GroupNorm", "[2, 10, 4, 4]", "4 groups");

    [Fact]
    public void GroupNormWeightMustMatchTheChannels() =>
        Fails(() => Ops.GroupNorm(T(2, 8, 4, 4), 4, T(6), T(8)), "GroupNorm", "weight", "[6]", "[8]");

    [Fact]
    public void LayerNormWeightMustMatchTheLastAxis() =>
        Fails(() => Ops.LayerNorm(T(3, 5), T(4), T(4)), "LayerNorm", "[4]", "[3, 5]");

    [Fact]
    public void AttentionHeadsMustDivideTheWidth() =>
        Fails(() => Ops.Attention(T(1, 4, 10), T(1, 4, 10), T(1, 4, 10), heads: 3), "Attention", "3 heads", "[1, 4, 10]");

    [Fact]
    public void AttentionBatchesMustMatch() =>
        Fails(() => Ops.Attention(T(2, 4, 8), T(1, 4, 8), T(1, 4, 8), heads: 2), "Attention", "[2, 4, 8]", "[1, 4, 8]");

    [Fact]
    public void ConvolutionKernelLargerThanThePaddedInput() =>
        Fails(() => Ops.Conv2d(T(1, 2, 2, 2), T(3, 2, 5, 5), null, 1, Padding2d.Same(1)), "Conv2d", "[3, 2, 5, 5]", "[1, 2, 2, 2]");

    [Fact]
    public void ConvolutionChannelsMustMatch() =>
        Fails(() => Ops.Conv2d(T(1, 3, 4, 4), T(2, 4, 3, 3), null, 1, Padding2d.Same(1)), "Conv2d", "[2, 4, 3, 3]", "[1, 3, 4, 4]");

    [Fact]
    public void ConcatShapesMustAgreeOffTheAxis() =>
        Fails(() => Ops.Concat([T(2, 3, 4), T(2, 3, 5)], 1), "Concat", "[2, 3, 4]", "[2, 3, 5]");

    [Fact]
    public void LinearWeightMustMapTheLastAxis() =>
        Fails(() => Ops.Linear(T(2, 5), T(4, 6)), "Linear", "[4, 6]", "[2, 5]");

    [Fact]
    public void WeightedMseNeedsOneWeightPerSample() =>
        Fails(() => Ops.MseLoss(T(3, 2), T(3, 2), T(2)), "MseLoss", "[2]", "[3, 2]");

    [Fact]
    public void GegluNeedsAnEvenLastAxis() =>
        Fails(() => Ops.Geglu(T(2, 5)), "GEGLU", "[2, 5]");

    [Fact]
    public void EmbeddingIdsMustLieInTheTable() =>
        Fails(() => Ops.Embedding(T(4, 3), [1, 4]), "Embedding", "id 4", "[4, 3]");
}
