using Dsoup.Kernels.Random;
using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>Philox uniforms on the device: the same bits as <c>CpuRandom</c> for the same (seed, offset).</summary>
public static class RandomKernels
{
    [GpuKernel]
    public static void Uniform<T, E>(ArrayView<T> result, int count, ulong seed, ulong offset)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        for (int i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX)
        {
            ulong g = offset + (ulong)i;
            PhiloxBlock block = Philox.Block(seed, g / 4);
            result[i] = e.Store(Philox.ToUnitFloat(block.Lane((int)(g % 4))));
        }
    }
}
