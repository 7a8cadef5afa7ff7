namespace Dsoup.Engine.Tests;

public class DeviceTests
{
    [Theory]
    [InlineData("cpu", "cpu")]
    [InlineData(" CUDA ", "cuda:0")]
    [InlineData("cuda:2", "cuda:2")]
    [InlineData("opencl", "opencl:0")]
    [InlineData("ilgpu-cpu", "ilgpu-cpu")]
    public void DeviceNamesAreNormalised(string typed, string canonical) =>
        Assert.Equal(canonical, DeviceRegistry.Canonical(typed));

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:x")]
    [InlineData("cuda:-1")]
    [InlineData("")]
    public void UnknownDeviceNamesListWhatIsAccepted(string typed)
    {
        var error = Assert.Throws<ArgumentException>(() => Device.Get(typed));
        Assert.Contains($"unknown device '{typed}'", error.Message);
        Assert.Contains("cpu, cuda, cuda:N, opencl, opencl:N, ilgpu-cpu", error.Message);
    }

    [Fact]
    public void AMissingCudaDeviceSaysHowManyExist()
    {
        var error = Assert.Throws<ArgumentException>(() => Device.Get("cuda:7"));
        Assert.Contains("CUDA", error.Message);
    }

    [Fact]
    public void EachNameOpensOneDevice()
    {
        Assert.Same(Device.Get("cpu"), Device.Cpu);
        Assert.Same(Device.Get("ilgpu-cpu"), Device.Get(" ILGPU-CPU "));
        Assert.Contains("cpu", DeviceRegistry.Available());
    }

    [Fact]
    public void DTypeNamesParseAndUnknownOnesAreExplained()
    {
        Assert.Equal(DType.BF16, DTypeInfo.Parse("bfloat16"));
        Assert.Equal(DType.F16, DTypeInfo.Parse("FP16"));
        Assert.Contains("expected one of f32, f16, bf16", Assert.Throws<ArgumentException>(() => DTypeInfo.Parse("f8")).Message);
    }
}
