namespace Dsoup.Kernels;

/// <summary>
/// A contiguous tensor seen as [Outer, Extent, Inner] for a reduction over the middle axis
/// (or a broadcast back along it). Outer × Inner outputs, each summing Extent inputs.
/// </summary>
public readonly record struct ReduceShape(long Outer, long Extent, long Inner)
{
    public long InputCount => Outer * Extent * Inner;

    public long OutputCount => Outer * Inner;
}
