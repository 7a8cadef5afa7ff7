using Dsoup.Kernels.Nn;
using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>Scalars AdamW needs, passed to the kernel by value (bias corrections computed on the host).</summary>
public struct AdamWScalars
{
    public float LearningRate;
    public float Beta1;
    public float Beta2;
    public float Epsilon;
    public float WeightDecay;
    public float BiasCorrection1;
    public float BiasCorrection2;
}

/// <summary>The optimizer on the device: AdamW in place, and the gradient factor from a sum of squares.</summary>
public static class OptimizerKernels
{
    [GpuKernel]
    public static void AdamW<T, E>(ArrayView<float> parameters, ArrayView<T> gradients, ArrayView<float> moment1,
        ArrayView<float> moment2, ArrayView<float> gradientScale, long count, AdamWScalars s)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        float scale = gradientScale[0];
        if (!OptimizerMath.IsFinite(scale))
        {
            return;
        }
        for (long i = Grid.GlobalIndex.X; i < count; i += (long)Grid.DimX * Group.DimX)
        {
            var r = OptimizerMath.AdamW(parameters[i], e.Load(gradients[i]) * scale, moment1[i], moment2[i],
                s.LearningRate, s.Beta1, s.Beta2, s.Epsilon, s.WeightDecay, s.BiasCorrection1, s.BiasCorrection2);
            parameters[i] = r.Parameter;
            moment1[i] = r.Moment1;
            moment2[i] = r.Moment2;
        }
    }

    [GpuKernel]
    public static void GradientScale(ArrayView<float> sumOfSquares, ArrayView<float> scale, float maxNorm, float inverseLossScale)
    {
        if (Grid.GlobalIndex.X == 0)
        {
            scale[0] = OptimizerMath.GradientScale(sumOfSquares[0], maxNorm, inverseLossScale);
        }
    }
}
