namespace Dsoup.Engine.Devices;

public enum DeviceKind
{
    /// <summary>Managed SIMD code on the host.</summary>
    Cpu,

    /// <summary>An NVIDIA GPU through ILGPU's CUDA backend.</summary>
    Cuda,

    /// <summary>An OpenCL device through ILGPU.</summary>
    OpenCL,

    /// <summary>ILGPU's CPU accelerator running the GPU kernels (for tests: slow, exact same code as on GPU).</summary>
    IlgpuCpu,
}
