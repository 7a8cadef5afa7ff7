using Dsoup.Engine.Tests.Harness;

namespace Dsoup.Engine.Tests;

public class ElementwiseOpTests
{
    private static readonly Shape Matrix = new(3, 5);
    private static readonly Shape Cube = new(2, 3, 4);

    public static readonly OpCase[] Cases =
    [
        new("Add", [Cube, Cube], t => t[0] + t[1], x => ReferenceOps.Zip(x[0], x[1], (a, b) => a + b)),
        new("Subtract", [Matrix, Matrix], t => t[0] - t[1], x => ReferenceOps.Zip(x[0], x[1], (a, b) => a - b)),
        new("Multiply", [Cube, Cube], t => t[0] * t[1], x => ReferenceOps.Zip(x[0], x[1], (a, b) => a * b)),
        new("Scale", [Matrix], t => Ops.Scale(t[0], -1.75f), x => x[0].Select(v => -1.75 * v).ToArray()),
        new("Axpy", [Cube, Cube], t => Ops.Axpy(0.625f, t[0], t[1]), x => ReferenceOps.Zip(x[0], x[1], (a, b) => 0.625 * a + b)),
        new("Copy", [Matrix], t => Ops.Copy(t[0]), x => (double[])x[0].Clone()),
        new("Reshape", [Matrix, new Shape(5, 3)], t => t[0].Reshape(5, -1) * t[1], x => ReferenceOps.Zip(x[0], x[1], (a, b) => a * b)),
        new("Slice", [new Shape(4, 3)], t => t[0].Slice(1, 2) * 2f, x => x[0].Skip(3).Take(6).Select(v => 2 * v).ToArray()),
        new("Square", [Cube], t => t[0] * t[0], x => x[0].Select(v => v * v).ToArray()),
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
}
