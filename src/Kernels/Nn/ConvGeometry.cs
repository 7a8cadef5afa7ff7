namespace Dsoup.Kernels.Nn;

/// <summary>
/// One image of a 2-D convolution: Channels × Height × Width input, a KernelHeight × KernelWidth
/// window moved by Stride, zero padding per side (the VAE downsampler pads only right and bottom).
/// The column matrix of an image is [OutputHeight·OutputWidth, Channels·KernelHeight·KernelWidth]:
/// one row per output pixel, so that a GEMM with the [out, in·kh·kw] weight gives NHWC rows.
/// </summary>
public readonly record struct ConvGeometry(
    int Channels, int Height, int Width, int KernelHeight, int KernelWidth, int Stride,
    int PadTop, int PadLeft, int PadBottom, int PadRight)
{
    public int OutputHeight => (Height + PadTop + PadBottom - KernelHeight) / Stride + 1;

    public int OutputWidth => (Width + PadLeft + PadRight - KernelWidth) / Stride + 1;

    public int Pixels => OutputHeight * OutputWidth;

    /// <summary>Length of one column row: Channels · KernelHeight · KernelWidth.</summary>
    public int Patch => Channels * KernelHeight * KernelWidth;

    public long ImageCount => (long)Channels * Height * Width;

    /// <summary>
    /// Where column-matrix entry (<paramref name="pixel"/>, <paramref name="patch"/>) is read from: its element
    /// index within one image, or −1 where the window lies on padding.
    /// </summary>
    public long InputIndex(int pixel, int patch)
    {
        int window = KernelHeight * KernelWidth;
        int c = patch / window, ky = patch % window / KernelWidth, kx = patch % KernelWidth;
        int iy = pixel / OutputWidth * Stride - PadTop + ky;
        int ix = pixel % OutputWidth * Stride - PadLeft + kx;
        return iy < 0 || iy >= Height || ix < 0 || ix >= Width ? -1 : ((long)c * Height + iy) * Width + ix;
    }

    /// <summary>
    /// The output coordinate whose window reads an input <paramref name="offset"/> positions after the
    /// window's start (input + padding − kernel index), or −1 where no output does.
    /// </summary>
    public static int OutputAt(int offset, int stride, int outputs)
    {
        if (offset < 0 || offset % stride != 0)
        {
            return -1;
        }
        int o = offset / stride;
        return o < outputs ? o : -1;
    }
}
