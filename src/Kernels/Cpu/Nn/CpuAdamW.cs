using Dsoup.Kernels.Nn;

namespace Dsoup.Kernels.Cpu.Nn;

/// <summary>AdamW on f32 parameters and moments in place, gradients of any dtype.</summary>
internal static unsafe class CpuAdamW
{
    public static void Step(DType gradType, nint parameters, nint gradients, nint moment1, nint moment2, AdamWStepState state, long count, AdamWStep step)
    {
        float scale = state.Scale;
        if (!float.IsFinite(scale))
        {
            return;
        }
        float lr = step.LearningRate, b1 = step.Beta1, b2 = step.Beta2, eps = step.Epsilon, wd = step.WeightDecay;
        float c1 = state.BiasCorrection1, c2 = state.BiasCorrection2;
        CpuParallel.For(count, CpuParallel.StreamingGrain, (start, end) =>
        {
            Span<float> g = stackalloc float[ElementBlocks.Size];
            for (long s = start; s < end; s += ElementBlocks.Size)
            {
                int n = (int)Math.Min(ElementBlocks.Size, end - s);
                ElementBlocks.Load(gradType, gradients, s, g[..n]);
                float* p = (float*)parameters + s, m = (float*)moment1 + s, v = (float*)moment2 + s;
                for (int i = 0; i < n; i++)
                {
                    var r = OptimizerMath.AdamW(p[i], g[i] * scale, m[i], v[i], lr, b1, b2, eps, wd, c1, c2);
                    p[i] = r.Parameter;
                    m[i] = r.Moment1;
                    v[i] = r.Moment2;
                }
            }
        });
    }
}
