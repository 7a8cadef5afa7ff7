using Dsoup.Kernels.Nn;
using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>The optimizer on the device: AdamW in place, and the step state it reads.</summary>
public static class OptimizerKernels
{
    [GpuKernel]
    public static void AdamW<T, E>(ArrayView<float> parameters, ArrayView<T> gradients, ArrayView<float> moment1,
        ArrayView<float> moment2, ArrayView<float> state, long count, AdamWStep s)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        float scale = state[0];
        if (!OptimizerMath.IsFinite(scale))
        {
            return;
        }
        float c1 = state[2], c2 = state[3];
        for (long i = Grid.GlobalIndex.X; i < count; i += (long)Grid.DimX * Group.DimX)
        {
            var r = OptimizerMath.AdamW(parameters[i], e.Load(gradients[i]) * scale, moment1[i], moment2[i],
                s.LearningRate, s.Beta1, s.Beta2, s.Epsilon, s.WeightDecay, c1, c2);
            parameters[i] = r.Parameter;
            moment1[i] = r.Moment1;
            moment2[i] = r.Moment2;
        }
    }

    /// <summary>One thread: <see cref="OptimizerMath.PrepareStep"/> on the state in place.</summary>
    [GpuKernel]
    public static void PrepareStep(ArrayView<float> sumOfSquares, ArrayView<float> state, float maxNorm, float inverseLossScale,
        float beta1, float beta2)
    {
        if (Grid.GlobalIndex.X != 0)
        {
            return;
        }
        AdamWStepState previous;
        previous.Scale = state[0];
        previous.Steps = state[1];
        previous.BiasCorrection1 = state[2];
        previous.BiasCorrection2 = state[3];
        AdamWStepState next = OptimizerMath.PrepareStep(previous, sumOfSquares[0], maxNorm, inverseLossScale, beta1, beta2);
        state[0] = next.Scale;
        state[1] = next.Steps;
        state[2] = next.BiasCorrection1;
        state[3] = next.BiasCorrection2;
    }
}
