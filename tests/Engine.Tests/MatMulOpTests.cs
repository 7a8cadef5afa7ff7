using Dsoup.Engine.Tests.Harness;

namespace Dsoup.Engine.Tests;

public class MatMulOpTests
{
    private static OpCase Case(string name, Shape a, Shape b, bool ta, bool tb) =>
        new(name, [a, b], t => Ops.MatMul(t[0], t[1], ta, tb), x => ReferenceOps.BatchedMatMul(x[0], a, x[1], b, ta, tb));

    public static readonly OpCase[] Cases =
    [
        Case("NN", new(7, 5), new(5, 9), false, false),
        Case("TN", new(5, 7), new(5, 9), true, false),
        Case("NT", new(7, 5), new(9, 5), false, true),
        Case("TT", new(5, 7), new(9, 5), true, true),
        Case("Batched", new(2, 7, 5), new(2, 5, 9), false, false),
        Case("BatchedTT", new(2, 5, 7), new(2, 9, 5), true, true),
        Case("SharedWeight", new(3, 4, 5), new(5, 6), false, false),
        Case("SharedWeightNT", new(3, 4, 5), new(6, 5), false, true),
        Case("SharedWeightTransposedA", new(2, 5, 4), new(5, 6), true, false),
        Case("SharedLeft", new(4, 5), new(2, 5, 6), false, false),
        // Crosses the GPU kernel's 64×64 tile on both output axes and its 16-deep k tile.
        Case("TileEdges", new(70, 33), new(33, 65), false, false),
    ];

    public static TheoryData<string, string, DType> Matrix3 => OpMatrix.Of(Cases);

    [Theory]
    [MemberData(nameof(Matrix3))]
    public void Forward(string op, string device, DType dtype) =>
        OpHarness.CheckForward(Cases.Single(c => c.Name == op), device, dtype);

    [Theory]
    [MemberData(nameof(Matrix3))]
    public void Backward(string op, string device, DType dtype) =>
        OpHarness.CheckBackward(Cases.Single(c => c.Name == op), device, dtype);

    [Fact]
    public void InnerDimensionMismatchSaysWhatWasExpected()
    {
        using Tensor a = Tensor.Zeros(new Shape(3, 4), device: Device.Cpu);
        using Tensor b = Tensor.Zeros(new Shape(5, 6), device: Device.Cpu);
        var error = Assert.Throws<ArgumentException>(() => Ops.MatMul(a, b));
        Assert.Contains("op(A) is 3×4", error.Message);
        Assert.Contains("op(B) is 5×6", error.Message);
    }

    [Fact]
    public void BatchMismatchSaysBothShapes()
    {
        using Tensor a = Tensor.Zeros(new Shape(2, 3, 4), device: Device.Cpu);
        using Tensor b = Tensor.Zeros(new Shape(3, 4, 5), device: Device.Cpu);
        var error = Assert.Throws<ArgumentException>(() => Ops.MatMul(a, b));
        Assert.Contains("batch dimensions differ", error.Message);
        Assert.Contains("[2]", error.Message);
        Assert.Contains("[3]", error.Message);
    }

    [Fact]
    public void RankOneOperandIsRejected()
    {
        using Tensor a = Tensor.Zeros(new Shape(4), device: Device.Cpu);
        using Tensor b = Tensor.Zeros(new Shape(4, 5), device: Device.Cpu);
        var error = Assert.Throws<ArgumentException>(() => Ops.MatMul(a, b));
        Assert.Contains("A must have rank ≥ 2; got [4]", error.Message);
    }
}
