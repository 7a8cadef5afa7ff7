namespace Dsoup.Kernels.Nn;

/// <summary>
/// Copies a run along the middle axis between two tensors seen as [Outer, extent, Inner]:
/// destination[o, DestinationStart + e, i] = source[o, SourceStart + e, i] for e &lt; Length. Slicing,
/// splitting and concatenation along any axis are this copy.
/// </summary>
public readonly record struct AxisCopy(long Outer, long Inner, int SourceExtent, int SourceStart, int DestinationExtent, int DestinationStart, int Length)
{
    public long SourceCount => Outer * SourceExtent * Inner;

    public long DestinationCount => Outer * DestinationExtent * Inner;

    public long CopiedCount => Outer * Length * Inner;
}
