namespace Dsoup.Kernels.Gpu;

/// <summary>
/// Marks an explicitly grouped ILGPU kernel. Generic kernels are instantiated over every dtype
/// (one (T, E) pair per dtype parameter); the PTX test compiles every instantiation.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class GpuKernelAttribute : Attribute
{
}
