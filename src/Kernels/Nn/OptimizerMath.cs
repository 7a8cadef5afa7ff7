using System.Runtime.CompilerServices;

namespace Dsoup.Kernels.Nn;

/// <summary>The optimizer's scalar rules, shared by the CPU backend and the ILGPU kernels.</summary>
public static class OptimizerMath
{
    /// <summary>
    /// The step state after preparing an update (see <see cref="INeuralOps.PrepareAdamWStep"/>): t and the bias
    /// corrections advance only when the gradient factor is finite.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static AdamWStepState PrepareStep(AdamWStepState previous, float sumOfSquares, float maxNorm, float inverseLossScale,
        float beta1, float beta2)
    {
        AdamWStepState next = previous;
        next.Scale = GradientScale(sumOfSquares, maxNorm, inverseLossScale);
        if (IsFinite(next.Scale))
        {
            next.Steps = previous.Steps + 1f;
            next.BiasCorrection1 = BiasCorrection(beta1, (int)next.Steps);
            next.BiasCorrection2 = BiasCorrection(beta2, (int)next.Steps);
        }
        return next;
    }

    /// <summary>1 − βᵗ, with βᵗ by repeated squaring in f64 (torch computes it in Python floats).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BiasCorrection(float beta, int steps)
    {
        double power = 1, factor = beta;
        for (int n = steps; n > 0; n >>= 1)
        {
            if ((n & 1) != 0)
            {
                power *= factor;
            }
            factor *= factor;
        }
        return (float)(1 - power);
    }

    /// <summary>The gradient factor of <see cref="INeuralOps.PrepareAdamWStep"/>; torch's clip_grad_norm_ adds the same 1e-6.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float GradientScale(float sumOfSquares, float maxNorm, float inverseLossScale)
    {
        if (!IsFinite(sumOfSquares))
        {
            return float.NaN;
        }
        if (maxNorm <= 0f)
        {
            return inverseLossScale;
        }
        float norm = MathF.Sqrt(sumOfSquares) * inverseLossScale;
        float clip = maxNorm / (norm + 1e-6f);
        return clip < 1f ? inverseLossScale * clip : inverseLossScale;
    }

    /// <summary>float.IsFinite in bit arithmetic, which the ILGPU backends translate.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsFinite(float value) => (ILGPU.Interop.FloatAsInt(value) & 0x7FFF_FFFFu) < 0x7F80_0000u;

    /// <summary>Returned by <see cref="AdamW"/>: the updated parameter and moments.</summary>
    public struct AdamWState
    {
        public float Parameter;
        public float Moment1;
        public float Moment2;
    }

    /// <summary>One element of an AdamW update (see <see cref="AdamWStep"/>); the gradient is already multiplied by its scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static AdamWState AdamW(float parameter, float gradient, float moment1, float moment2,
        float learningRate, float beta1, float beta2, float epsilon, float weightDecay, float biasCorrection1, float biasCorrection2)
    {
        AdamWState s;
        s.Moment1 = beta1 * moment1 + (1f - beta1) * gradient;
        s.Moment2 = beta2 * moment2 + (1f - beta2) * gradient * gradient;
        float denominator = MathF.Sqrt(s.Moment2) / MathF.Sqrt(biasCorrection2) + epsilon;
        s.Parameter = parameter * (1f - learningRate * weightDecay) - learningRate / biasCorrection1 * s.Moment1 / denominator;
        return s;
    }
}
