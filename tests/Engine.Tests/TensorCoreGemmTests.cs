using Dsoup.Engine.Tests.Harness;
using Dsoup.Kernels.Gpu;

namespace Dsoup.Engine.Tests;

/// <summary>
/// The tensor-core path on accelerators of the tests' own, where it can be switched off: 16-bit GEMMs on both
/// paths, when tensor cores are on, and the host-to-device copy rate the device-side soups are judged against.
/// </summary>
[Collection(OwnAcceleratorCollection.Name)]
public class TensorCoreGemmTests
{
    public static TheoryData<DType, bool> SixteenBitPaths() => new()
    {
        { DType.F16, true }, { DType.BF16, true }, { DType.F16, false }, { DType.BF16, false },
    };

    /// <summary>
    /// The 16-bit GEMM on the tensor-core kernel (mma.sync emulated on the CPU simulator, with the fragment
    /// layouts of the hardware) and on the CUDA-core kernel, at shapes that cross the 128×64 block and the
    /// 32-deep slice, odd K (a k pair half outside), both transposes, a batch and alpha/beta.
    /// </summary>
    [Theory]
    [MemberData(nameof(SixteenBitPaths))]
    public void SixteenBitGemmOnTensorAndCudaCores(DType dtype, bool tensorCores)
    {
        using var backend = new IlgpuBackend(IlgpuRuntime.CreateCpuSimulator(), "ilgpu-cpu") { TensorCores = tensorCores };
        GemmKernelTests.CheckGemm(backend, dtype, batch: 1, 16, 8, 16, false, false, alpha: 1f, beta: 0f);
        GemmKernelTests.CheckGemm(backend, dtype, batch: 1, 131, 70, 45, false, false, alpha: 1f, beta: 0f);
        GemmKernelTests.CheckGemm(backend, dtype, batch: 2, 37, 9, 33, true, true, alpha: 0.5f, beta: -1f);
        GemmKernelTests.CheckGemm(backend, dtype, batch: 1, 20, 9, 40, true, false, alpha: 1f, beta: 0f);
        GemmKernelTests.CheckGemm(backend, dtype, batch: 1, 5, 3, 0, false, true, alpha: 1f, beta: 0.5f);
    }

    [Fact]
    public void TensorCoresAreOnForTheCpuSimulatorAndOffForOtherCpuShapes()
    {
        using var simulator = IlgpuRuntime.CreateCpuSimulator();
        Assert.True(IlgpuBackend.HasTensorCores(simulator));
        using var narrow = new ILGPU.Runtime.CPU.CPUDevice(4, 4, 1).CreateCPUAccelerator(IlgpuRuntime.Context);
        Assert.False(IlgpuBackend.HasTensorCores(narrow));
    }

    [Fact]
    public void UploadBandwidthIsMeasuredFromPageLockedMemory()
    {
        using var backend = new IlgpuBackend(IlgpuRuntime.CreateCpuSimulator(), "ilgpu-cpu");
        using var copy = new UploadBandwidth(backend, 1 << 20);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        copy.CopyOnce();
        double rate = copy.Bytes / clock.Elapsed.TotalSeconds;
        Assert.True(rate > 0 && double.IsFinite(rate), $"rate {rate}");
    }
}
