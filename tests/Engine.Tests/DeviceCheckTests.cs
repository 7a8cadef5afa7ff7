using Dsoup.Engine.Tests.Harness;

namespace Dsoup.Engine.Tests;

[Collection(OwnAcceleratorCollection.Name)]
public class DeviceCheckTests
{
    /// <summary>
    /// The check, at its own (GPU-sized) shapes, on the CUDA-core kernels. The tensor-core kernels it reaches on a GPU
    /// (16-bit products, convolutions, attention) are tested on their emulation by the op tests, at shapes that cross
    /// their tiles, against float64 references and finite differences: emulated, this check alone would take minutes.
    /// </summary>
    [Fact]
    public void TheIlgpuKernelsPassTheDeviceSelfCheck()
    {
        using var backend = new Dsoup.Kernels.Gpu.IlgpuBackend(Dsoup.Kernels.Gpu.IlgpuRuntime.CreateCpuSimulator(), "ilgpu-cpu") { TensorCores = false };
        var results = DeviceCheck.Run(new Device("ilgpu-cpu", DeviceKind.IlgpuCpu, backend));
        Assert.Equal(3 * 26 + 3 * 3, results.Count);
        Assert.All(results, r => Assert.True(r.Passed, $"{r.Op} {r.DType}: {r.MaxRelativeError} > {r.Tolerance} {r.Failure}"));
    }

    [Fact]
    public void FailingAndWrongOpsAreReportedNotThrown()
    {
        Device cpu = Device.Get("cpu"), device = Device.Get("ilgpu-cpu");
        float[] Values(Device d) => [1f, -2f, 3f, 0.5f];
        bool OnDevice(Device d) => !ReferenceEquals(d, cpu);

        DeviceCheckResult same = DeviceCheck.Compare("same", DType.F32, device, cpu, (d, _) => Values(d));
        Assert.True(same.Passed, $"{same.MaxRelativeError} {same.Failure}");
        Assert.Equal(0, same.MaxRelativeError);

        DeviceCheckResult throws = DeviceCheck.Compare("throws", DType.F32, device, cpu,
            (d, _) => OnDevice(d) ? throw new InvalidOperationException("kernel failed to launch") : Values(d));
        Assert.False(throws.Passed);
        Assert.Contains("kernel failed to launch", throws.Failure);

        // Off by 1e-4 of the values' scale (3): over f32's tolerance, within bf16's.
        float[] Off(Device d) => OnDevice(d) ? Values(d).Select((v, i) => i == 1 ? v + 3e-4f : v).ToArray() : Values(d);
        DeviceCheckResult wrong = DeviceCheck.Compare("wrong", DType.F32, device, cpu, (d, _) => Off(d));
        Assert.False(wrong.Passed);
        Assert.InRange(wrong.MaxRelativeError, 0.9e-4, 1.1e-4);
        Assert.True(DeviceCheck.Compare("wrong", DType.BF16, device, cpu, (d, _) => Off(d)).Passed);

        DeviceCheckResult nan = DeviceCheck.Compare("nan", DType.F16, device, cpu, (d, _) => OnDevice(d) ? [1f, float.NaN, 3f, 0.5f] : Values(d));
        Assert.False(nan.Passed);
        Assert.Equal(double.PositiveInfinity, nan.MaxRelativeError);
    }
}
