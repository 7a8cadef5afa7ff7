namespace Dsoup.Models.Soup;

/// <summary>How ingredients combine. Formulas per tensor, elementwise; θ₀ is the base, τᵢ = θᵢ − θ₀.</summary>
public enum SoupMethod
{
    /// <summary>θ = (1/N) Σ θᵢ, summed exactly and correctly rounded.</summary>
    Uniform,

    /// <summary>θ = Σ wᵢ θᵢ / Σ wᵢ; exact when every weight is a whole number, float64 otherwise.</summary>
    Weighted,

    /// <summary>Task arithmetic (Ilharco et al. 2023): θ = θ₀ + λ Σ wᵢ τᵢ.</summary>
    TaskArithmetic,

    /// <summary>
    /// TIES-merging (Yadav et al. 2023): trim each τᵢ to its top-k by magnitude (k = ⌊density · n⌋ per
    /// tensor, ties by position), elect γ = sign(Σ τ̂ᵢ) (the sign with the larger total mass; 0 → +),
    /// disjoint mean τ = Σ wᵢ τ̂ᵢ [sign τ̂ᵢ = γ] / Σ wᵢ [sign τ̂ᵢ = γ], θ = θ₀ + λ τ.
    /// </summary>
    Ties,

    /// <summary>
    /// DARE with task arithmetic ("dare_linear", Yu et al. 2024): τ̃ᵢ = mᵢ ⊙ τᵢ / (1 − p) with
    /// mᵢ ~ Bernoulli(1 − p) from Philox(seed), rescaled by exactly 1/(1 − p) (not mergekit's L1 ratio),
    /// θ = θ₀ + λ Σ wᵢ τ̃ᵢ.
    /// </summary>
    Dare,

    /// <summary>Add difference (A1111): θ = A + α (B − C), for exactly three inputs A, B, C.</summary>
    AddDifference,
}

public static class SoupMethods
{
    public static string Name(this SoupMethod method) => method switch
    {
        SoupMethod.Uniform => "uniform",
        SoupMethod.Weighted => "weighted",
        SoupMethod.TaskArithmetic => "task-arithmetic",
        SoupMethod.Ties => "ties",
        SoupMethod.Dare => "dare",
        _ => "add-difference",
    };

    public static SoupMethod Parse(string text) =>
        Enum.GetValues<SoupMethod>().FirstOrDefault(m => m.Name() == text.Trim().ToLowerInvariant(), (SoupMethod)(-1)) is var m && (int)m >= 0
            ? m
            : throw new ArgumentException($"unknown soup method '{text}': expected one of {string.Join(", ", Enum.GetValues<SoupMethod>().Select(v => v.Name()))}");

    public static bool NeedsBase(this SoupMethod method) => method is SoupMethod.TaskArithmetic or SoupMethod.Ties or SoupMethod.Dare;
}
