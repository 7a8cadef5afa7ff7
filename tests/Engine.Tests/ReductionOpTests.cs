using Dsoup.Engine.Tests.Harness;

namespace Dsoup.Engine.Tests;

public class ReductionOpTests
{
    private static readonly Shape Cube = new(3, 4, 5);
    private static readonly Shape Long = new(2, 600);

    public static readonly OpCase[] Cases =
    [
        new("SumAll", [Cube], t => Ops.Sum(t[0]), x => [x[0].Sum()]),
        new("MeanAll", [Cube], t => Ops.Mean(t[0]), x => [x[0].Average()]),
        new("SumAxis0", [Cube], t => Ops.Sum(t[0], 0), x => ReferenceOps.ReduceAxis(x[0], Cube, 0, false)),
        new("SumAxis1Keep", [Cube], t => Ops.Sum(t[0], 1, keepDim: true), x => ReferenceOps.ReduceAxis(x[0], Cube, 1, false)),
        new("SumLastAxis", [Cube], t => Ops.Sum(t[0], -1), x => ReferenceOps.ReduceAxis(x[0], Cube, 2, false)),
        new("MeanAxis1", [Cube], t => Ops.Mean(t[0], 1), x => ReferenceOps.ReduceAxis(x[0], Cube, 1, true)),
        // An extent of 600 takes the one-group-per-output kernel on GPUs.
        new("SumLongRows", [Long], t => Ops.Sum(t[0], 1), x => ReferenceOps.ReduceAxis(x[0], Long, 1, false)),
        new("MeanLongAll", [Long], t => Ops.Mean(t[0]), x => [x[0].Average()]),
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
    public void ReducingAnAxisThatDoesNotExistNamesTheShape()
    {
        using Tensor x = Tensor.Zeros(new Shape(2, 3), device: Device.Cpu);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Sum(x, 2));
        Assert.Contains("axis 2 is out of range for shape [2, 3]", error.Message);
    }
}
