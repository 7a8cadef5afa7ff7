namespace Dsoup.Kernels.Nn;

/// <summary>
/// The four f32 scalars an optimizer keeps on its device between updates, in this order: the gradient
/// factor of the coming update (loss-scale inverse × clipping factor; NaN when the gradients overflowed,
/// which skips the update), the number of updates applied so far (t), and the bias corrections 1 − β1ᵗ
/// and 1 − β2ᵗ for that t.
/// </summary>
public struct AdamWStepState
{
    public const int Count = 4;

    public float Scale;
    public float Steps;
    public float BiasCorrection1;
    public float BiasCorrection2;
}
