namespace Dsoup.Kernels.Nn;

/// <summary>
/// A batched 2-D convolution: <see cref="Batch"/> images of one <see cref="ConvGeometry"/> into
/// <see cref="OutChannels"/> filters. Input [Batch, C, H, W], weight [OutChannels, C, kh, kw], output
/// [Batch, OutChannels, OH, OW], all row-major.
/// </summary>
public readonly record struct ConvShape(int Batch, int OutChannels, ConvGeometry Image)
{
    public long InputCount => Batch * Image.ImageCount;

    public long OutputCount => (long)Batch * OutChannels * Image.Pixels;

    public long WeightCount => (long)OutChannels * Image.Patch;
}
