using System.Runtime.CompilerServices;
using ILGPU;

namespace Dsoup.Kernels.Gpu.TensorCores;

/// <summary>
/// Softmax arithmetic on score accumulators in f32: masking and scaling, the online maximum over the four
/// lanes of a quad (which together hold a row of an accumulator tile), and probabilities against a row's
/// maximum or log-sum-exp, with −∞ (a masked score, or a row that has seen no key) giving 0.
/// </summary>
internal static class AttentionScores
{
    /// <summary>Scaled scores, −∞ where the flag for that element says the pair is masked out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static MmaC Masked(MmaC tile, bool see0, bool see1, bool see2, bool see3, float scale) => new()
    {
        C0 = see0 ? tile.C0 * scale : float.NegativeInfinity,
        C1 = see1 ? tile.C1 * scale : float.NegativeInfinity,
        C2 = see2 ? tile.C2 * scale : float.NegativeInfinity,
        C3 = see3 ? tile.C3 * scale : float.NegativeInfinity,
    };

    /// <summary>The maximum over the four lanes of a quad.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float QuadMax(float value)
    {
        value = MathF.Max(value, Warp.ShuffleXor(value, 1));
        return MathF.Max(value, Warp.ShuffleXor(value, 2));
    }

    /// <summary>The sum over the four lanes of a quad.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float QuadSum(float value)
    {
        value += Warp.ShuffleXor(value, 1);
        return value + Warp.ShuffleXor(value, 2);
    }

    /// <summary>The factor that rescales sums taken against <paramref name="old"/> to <paramref name="next"/> (1 while a row has seen nothing).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Rescale(float old, float next) => next == float.NegativeInfinity ? 1f : MathF.Exp(old - next);

    /// <summary>exp(score − reference), 0 for a masked score or an infinite reference.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Probability(float score, float reference) =>
        score == float.NegativeInfinity || reference == float.NegativeInfinity ? 0f : MathF.Exp(score - reference);

    /// <summary>Probabilities with rows g and g+8 against their own references.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static MmaC RowProbabilities(MmaC scores, float reference0, float reference1) => new()
    {
        C0 = Probability(scores.C0, reference0),
        C1 = Probability(scores.C1, reference0),
        C2 = Probability(scores.C2, reference1),
        C3 = Probability(scores.C3, reference1),
    };

    /// <summary>Probabilities with columns 2t and 2t+1 against their own references (a transposed score tile).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static MmaC ColumnProbabilities(MmaC scores, float reference0, float reference1) => new()
    {
        C0 = Probability(scores.C0, reference0),
        C1 = Probability(scores.C1, reference1),
        C2 = Probability(scores.C2, reference0),
        C3 = Probability(scores.C3, reference1),
    };

    /// <summary>dS = P ∘ (dP − D), D per row (g, g+8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static MmaC RowGradient(MmaC p, MmaC dp, float dot0, float dot1) => new()
    {
        C0 = p.C0 * (dp.C0 - dot0),
        C1 = p.C1 * (dp.C1 - dot0),
        C2 = p.C2 * (dp.C2 - dot1),
        C3 = p.C3 * (dp.C3 - dot1),
    };

    /// <summary>dSᵀ = Pᵀ ∘ (dPᵀ − D), D per column (2t, 2t+1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static MmaC ColumnGradient(MmaC p, MmaC dp, float dot0, float dot1) => new()
    {
        C0 = p.C0 * (dp.C0 - dot0),
        C1 = p.C1 * (dp.C1 - dot1),
        C2 = p.C2 * (dp.C2 - dot0),
        C3 = p.C3 * (dp.C3 - dot1),
    };
}
