namespace Dsoup.Kernels.Nn;

/// <summary>
/// One AdamW update (decoupled weight decay, as torch.optim.AdamW):
/// p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
/// p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε), with g = gradient · scale, where scale is the one f32
/// at the update's scale buffer (loss-scale inverse × clipping factor, computed on the device).
/// A scale that is not finite leaves every parameter and moment unchanged: the skipped step of
/// dynamic loss scaling (the scale is made NaN when the gradients' norm overflowed).
/// </summary>
public readonly record struct AdamWStep(
    float LearningRate, float Beta1, float Beta2, float Epsilon, float WeightDecay, int Step)
{
    /// <summary>1 − β1ᵗ, computed in f64 as torch does in Python.</summary>
    public float BiasCorrection1 => (float)(1 - Math.Pow(Beta1, Step));

    public float BiasCorrection2 => (float)(1 - Math.Pow(Beta2, Step));
}
