namespace Dsoup.Engine.Tests;

public class TensorTests
{
    [Fact]
    public void ShapesRejectNegativeDimensionsAndCountElements()
    {
        Assert.Equal(24, new Shape(2, 3, 4).Count);
        Assert.Equal(1, Shape.Scalar.Count);
        Assert.Equal(0, new Shape(3, 0).Count);
        Assert.Contains("negative", Assert.Throws<ArgumentException>(() => new Shape(2, -1)).Message);
        Assert.Equal("[2, 3]", new Shape(2, 3).ToString());
    }

    [Fact]
    public void ReshapeInfersOneDimensionAndRejectsWrongCounts()
    {
        using Tensor t = Tensor.Zeros(new Shape(2, 6), device: Device.Cpu);
        using Tensor r = t.Reshape(3, -1);
        Assert.Equal(new Shape(3, 4), r.Shape);
        var error = Assert.Throws<ArgumentException>(() => t.Reshape(5, 3));
        Assert.Contains("expected 12 elements, the new shape holds 15", error.Message);
        Assert.Throws<ArgumentException>(() => t.Reshape(-1, -1));
    }

    [Fact]
    public void SliceOutsideTheFirstAxisNamesTheRange()
    {
        using Tensor t = Tensor.Zeros(new Shape(4, 2), device: Device.Cpu);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => t.Slice(3, 2));
        Assert.Contains("[3, 5)", error.Message);
    }

    [Fact]
    public void FromArrayChecksTheElementCount()
    {
        var error = Assert.Throws<ArgumentException>(() => Tensor.FromArray(new float[5], new Shape(2, 3), device: Device.Cpu));
        Assert.Contains("5 values cannot fill shape [2, 3] (6 elements)", error.Message);
    }

    [Fact]
    public void BinaryOpsNameMismatchedShapesDTypesAndDevices()
    {
        using Tensor a = Tensor.Zeros(new Shape(2, 3), device: Device.Cpu);
        using Tensor b = Tensor.Zeros(new Shape(3, 2), device: Device.Cpu);
        using Tensor h = Tensor.Zeros(new Shape(2, 3), DType.F16, Device.Cpu);
        using Tensor g = Tensor.Zeros(new Shape(2, 3), device: Device.Get("ilgpu-cpu"));
        Assert.Contains("shapes differ: left [2, 3], right [3, 2]", Assert.Throws<ArgumentException>(() => a + b).Message);
        Assert.Contains("dtypes differ: left f32, right f16", Assert.Throws<ArgumentException>(() => a * h).Message);
        Assert.Contains("left on cpu, right on ilgpu-cpu", Assert.Throws<ArgumentException>(() => a - g).Message);
    }

    [Fact]
    public void ItemNeedsOneElement()
    {
        using Tensor t = Tensor.Zeros(new Shape(2), device: Device.Cpu);
        Assert.Contains("exactly one element", Assert.Throws<InvalidOperationException>(() => t.Item()).Message);
    }

    [Fact]
    public void TensorsMoveBetweenDevicesUnchanged()
    {
        float[] values = [1f, -2f, 3.5f, float.NaN];
        using Tensor cpu = Tensor.FromArray(values, new Shape(2, 2), DType.BF16, Device.Cpu);
        using Tensor gpu = cpu.To(Device.Get("ilgpu-cpu"));
        using Tensor back = gpu.To(Device.Cpu);
        Assert.Equal(cpu.ToBytes(), back.ToBytes());
        Assert.Equal("ilgpu-cpu", gpu.Device.Name);
    }
}
