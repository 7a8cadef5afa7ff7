using Dsoup.Kernels.Nn;
using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>Activations and their backward as grid-stride loops; <paramref name="kind"/> is an <see cref="Activation"/>.</summary>
public static class ActivationKernels
{
    [GpuKernel]
    public static void Activate<T, E>(ArrayView<T> x, ArrayView<T> result, long count, int kind)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        for (long i = Grid.GlobalIndex.X; i < count; i += (long)Grid.DimX * Group.DimX)
        {
            result[i] = e.Store(ActivationMath.Apply(kind, e.Load(x[i])));
        }
    }

    [GpuKernel]
    public static void ActivateBackward<T, E>(ArrayView<T> x, ArrayView<T> gradOutput, ArrayView<T> gradInput, long count, int kind)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        for (long i = Grid.GlobalIndex.X; i < count; i += (long)Grid.DimX * Group.DimX)
        {
            gradInput[i] = e.Store(e.Load(gradOutput[i]) * ActivationMath.Derivative(kind, e.Load(x[i])));
        }
    }
}
