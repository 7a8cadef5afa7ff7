namespace Dsoup.Kernels.Nn;

/// <summary>
/// A normalisation seen as <see cref="Rows"/> rows of <see cref="RowLength"/> contiguous elements, each
/// row normalised by its own mean and variance. Row r is group r mod <see cref="Groups"/> of its
/// sample; element j of it belongs to channel (r mod Groups)·(RowLength/Spatial) + j/Spatial, which
/// indexes the affine weight and bias. LayerNorm over D: Groups 1, Spatial 1. GroupNorm of
/// [N, C, H, W] into G groups: Rows N·G, RowLength C/G·H·W, Groups G, Spatial H·W.
/// </summary>
public readonly record struct NormShape(long Rows, long RowLength, int Groups, long Spatial)
{
    public long Count => Rows * RowLength;

    public long ChannelsPerGroup => RowLength / Spatial;

    /// <summary>Length of the affine weight and bias.</summary>
    public long Channels => Groups * ChannelsPerGroup;

    /// <summary>Rows that share one group slot: the samples.</summary>
    public long Samples => Rows / Groups;

    public static NormShape LayerNorm(long rows, long width) => new(rows, width, 1, 1);

    public static NormShape GroupNorm(long batch, int channels, int groups, long spatial) =>
        new(batch * groups, channels / groups * spatial, groups, spatial);
}
