namespace Dsoup.Engine.Tests;

public class DeviceCheckTests
{
    [Fact]
    public void TheIlgpuKernelsPassTheDeviceSelfCheck()
    {
        var results = DeviceCheck.Run(Device.Get("ilgpu-cpu"));
        Assert.Equal(3 * 13 + 1, results.Count);
        Assert.All(results, r => Assert.True(r.Passed, $"{r.Op} {r.DType}: {r.MaxRelativeError} > {r.Tolerance} {r.Failure}"));
    }

    [Fact]
    public void AFailingOpIsReportedNotThrown()
    {
        var result = new DeviceCheckResult("X", DType.F32, double.PositiveInfinity, 1e-5, 0, "boom");
        Assert.False(result.Passed);
    }
}
