using System.Runtime.CompilerServices;

namespace Dsoup.Kernels.Nn;

/// <summary>The optimizer's scalar rules, shared by the CPU backend and the ILGPU kernels.</summary>
public static class OptimizerMath
{
    /// <summary>See <see cref="INeuralOps.GradientScale"/>; torch's clip_grad_norm_ adds the same 1e-6.</summary>
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

    /// <summary>One element of <see cref="AdamWStep"/>; the gradient is already multiplied by its scale.</summary>
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
