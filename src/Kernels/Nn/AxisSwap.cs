namespace Dsoup.Kernels.Nn;

/// <summary>
/// Swaps the two middle axes of [Outer, A, B, Inner] into [Outer, B, A, Inner]: attention heads
/// ([batch, tokens, heads, d] ↔ [batch, heads, tokens, d]) and NCHW ↔ NHWC (Inner 1).
/// </summary>
public readonly record struct AxisSwap(long Outer, int A, int B, long Inner)
{
    public long Count => Outer * A * B * Inner;

    /// <summary>The swap that undoes this one.</summary>
    public AxisSwap Inverse => new(Outer, B, A, Inner);
}
