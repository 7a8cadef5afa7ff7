using System.Runtime.CompilerServices;

namespace Dsoup.Kernels.Nn;

/// <summary>
/// The activations and their derivatives as scalar f32 functions, shared by the CPU backend and the
/// ILGPU kernels so both compute the same formula (ILGPU maps MathF.Exp to its device intrinsic).
/// </summary>
public static class ActivationMath
{
    public const float QuickGeluSlope = 1.702f;
    private const float InverseSqrt2 = 0.70710678118654752f;
    private const float InverseSqrt2Pi = 0.39894228040143268f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(int kind, float x) => kind switch
    {
        (int)Activation.Silu => x * Sigmoid(x),
        (int)Activation.Gelu => x * NormalCdf(x),
        _ => x * Sigmoid(QuickGeluSlope * x),
    };

    /// <summary>d/dx of <see cref="Apply"/> at x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Derivative(int kind, float x)
    {
        if (kind == (int)Activation.Gelu)
        {
            return NormalCdf(x) + x * InverseSqrt2Pi * MathF.Exp(-0.5f * x * x);
        }
        float slope = kind == (int)Activation.Silu ? 1f : QuickGeluSlope;
        float s = Sigmoid(slope * x);
        return s + slope * x * s * (1f - s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>Φ(x) = ½·erfc(−x/√2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float NormalCdf(float x) => 0.5f * Erfc(-x * InverseSqrt2);

    /// <summary>
    /// erfc by the Chebyshev fit of Numerical Recipes (erfcc): relative error below 1.2e-7 everywhere,
    /// so GELU keeps f32 accuracy in its negative tail, where 1 + erf(x) cancels.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Erfc(float z)
    {
        float a = MathF.Abs(z);
        float t = 1f / (1f + 0.5f * a);
        float poly = -1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f + t * (-0.18628806f +
            t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
        float tail = t * MathF.Exp(-a * a + poly);
        return z >= 0f ? tail : 2f - tail;
    }
}
