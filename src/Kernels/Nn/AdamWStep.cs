namespace Dsoup.Kernels.Nn;

/// <summary>
/// The hyper-parameters of one AdamW update (decoupled weight decay, as torch.optim.AdamW):
/// p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
/// p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε), with g = gradient · scale. The scale, t and the bias
/// corrections live on the device in the optimizer's step state (see <see cref="AdamWStepState"/>), so a
/// step skipped there for an overflow neither moves the parameters nor counts.
/// </summary>
public readonly record struct AdamWStep(float LearningRate, float Beta1, float Beta2, float Epsilon, float WeightDecay);
