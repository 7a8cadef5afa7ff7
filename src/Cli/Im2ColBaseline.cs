namespace Dsoup.Cli;

/// <summary>
/// The textbook convolution the benchmark compares ours with: the whole image's column matrix built at once
/// (3×3, stride 1, padding 1), then OpenBLAS sgemm; backward by two more sgemms and a scatter back into the image.
/// </summary>
internal sealed class Im2ColBaseline(float[] input, float[] weight, int batch, int channels, int size, int outChannels)
{
    private readonly int pixels = size * size;
    private readonly int patch = channels * 9;
    private readonly float[] columns = new float[size * size * channels * 9];
    private readonly float[] output = new float[size * size * outChannels];
    private readonly float[] gradOutput = Enumerable.Repeat(1f, size * size * outChannels).ToArray();
    private readonly float[] gradWeight = new float[outChannels * channels * 9];
    private readonly float[] gradInput = new float[channels * size * size];

    public void Forward()
    {
        for (int n = 0; n < batch; n++)
        {
            ImageToColumns(n);
            OpenBlas.Sgemm(false, true, pixels, outChannels, patch, columns, weight, 0f, output);
        }
    }

    public void Backward()
    {
        for (int n = 0; n < batch; n++)
        {
            ImageToColumns(n);
            OpenBlas.Sgemm(true, false, outChannels, patch, pixels, gradOutput, columns, n == 0 ? 0f : 1f, gradWeight);
            OpenBlas.Sgemm(false, false, pixels, patch, outChannels, gradOutput, weight, 0f, columns);
            ColumnsToImage();
        }
    }

    private void ImageToColumns(int n)
    {
        int image = n * channels * pixels;
        Parallel.For(0, pixels, p =>
        {
            int oy = p / size, ox = p % size, k = p * patch;
            for (int c = 0; c < channels; c++)
            {
                for (int ky = 0; ky < 3; ky++)
                {
                    int iy = oy - 1 + ky;
                    for (int kx = 0; kx < 3; kx++, k++)
                    {
                        int ix = ox - 1 + kx;
                        columns[k] = iy < 0 || iy >= size || ix < 0 || ix >= size ? 0f : input[image + (c * size + iy) * size + ix];
                    }
                }
            }
        });
    }

    private void ColumnsToImage()
    {
        Array.Clear(gradInput);
        Parallel.For(0, channels, c =>
        {
            for (int p = 0; p < pixels; p++)
            {
                int oy = p / size, ox = p % size, k = p * patch + c * 9;
                for (int ky = 0; ky < 3; ky++)
                {
                    int iy = oy - 1 + ky;
                    for (int kx = 0; kx < 3; kx++, k++)
                    {
                        int ix = ox - 1 + kx;
                        if (iy >= 0 && iy < size && ix >= 0 && ix < size)
                        {
                            gradInput[(c * size + iy) * size + ix] += columns[k];
                        }
                    }
                }
            }
        });
    }
}
