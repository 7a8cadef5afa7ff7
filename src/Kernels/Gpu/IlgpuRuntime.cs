using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace Dsoup.Kernels.Gpu;

/// <summary>The one ILGPU context of the process, and the accelerators it can open.</summary>
public static class IlgpuRuntime
{
    private static readonly Lazy<Context> SharedContext = new(CreateContext);

    public static Context Context => SharedContext.Value;

    public static int CudaDeviceCount => Context.GetCudaDevices().Count;

    public static int OpenCLDeviceCount => Context.GetCLDevices().Count;

    /// <summary>
    /// The CPU simulator shaped like a GPU (warp 32, 256 threads per group, one multiprocessor), so the
    /// GPU kernels run unchanged. It simulates every thread: use small shapes.
    /// </summary>
    public static Accelerator CreateCpuSimulator() =>
        new CPUDevice(32, 8, 1).CreateCPUAccelerator(Context, CPUAcceleratorMode.Parallel);

    public static Accelerator CreateCuda(int index)
    {
        var devices = Context.GetCudaDevices();
        if (index < 0 || index >= devices.Count)
        {
            throw new ArgumentException(devices.Count == 0
                ? "no CUDA device found (is the NVIDIA driver installed, with libcuda.so or libcuda.so.1 on the loader path?)"
                : $"CUDA device {index} does not exist: found {devices.Count} (cuda:0 .. cuda:{devices.Count - 1})");
        }
        return Context.CreateCudaAccelerator(index);
    }

    public static Accelerator CreateOpenCL(int index)
    {
        var devices = Context.GetCLDevices();
        if (index < 0 || index >= devices.Count)
        {
            throw new ArgumentException(devices.Count == 0
                ? "no OpenCL device found (is an OpenCL ICD with libOpenCL.so or libOpenCL.so.1 installed?)"
                : $"OpenCL device {index} does not exist: found {devices.Count} (opencl:0 .. opencl:{devices.Count - 1})");
        }
        return Context.CreateCLAccelerator(index);
    }

    private static Context CreateContext()
    {
        NativeLibraryResolver.Register();
        return Context.Create(builder => builder.Default().EnableAlgorithms());
    }
}
