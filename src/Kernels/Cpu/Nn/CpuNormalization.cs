using System.Numerics.Tensors;
using System.Buffers;
using Dsoup.Kernels.Nn;

namespace Dsoup.Kernels.Cpu.Nn;

/// <summary>
/// LayerNorm and GroupNorm rows (see <see cref="NormShape"/>) on the CPU. Statistics are two-pass
/// (mean, then mean squared deviation) accumulated in f64; the weight and bias gradients are summed
/// per fixed chunk of rows and the chunks added in order, so the result does not depend on the cores.
/// </summary>
internal static unsafe class CpuNormalization
{
    /// <summary>Rows whose weight and bias gradients one partial sum holds.</summary>
    private const int RowsPerPartial = 16;

    public static void Forward(DType dtype, nint x, nint weight, nint bias, nint y, nint mean, nint rstd, NormShape shape, float eps)
    {
        float[] w = LoadAll(dtype, weight, shape.Channels);
        float[] b = LoadAll(dtype, bias, shape.Channels);
        var means = (float*)mean;
        var rstds = (float*)rstd;
        CpuRows.For(shape.Rows, shape.RowLength, (r, row, scratch) =>
        {
            long start = r * shape.RowLength;
            ElementBlocks.Load(dtype, x, start, row);
            (float m, float s) = Statistics(row, scratch, eps);
            means[r] = m;
            rstds[r] = s;
            long firstChannel = r % shape.Groups * shape.ChannelsPerGroup;
            int spatial = (int)shape.Spatial;
            for (int k = 0; k < shape.ChannelsPerGroup; k++)
            {
                // y = x·(s·w) + (b − m·s·w) over the channel's contiguous run.
                long c = firstChannel + k;
                float scale = s * w[c];
                Span<float> run = row.Slice(k * spatial, spatial);
                TensorPrimitives.Multiply(run, scale, run);
                TensorPrimitives.Add(run, b[c] - m * scale, run);
            }
            ElementBlocks.Store(dtype, row, y, start);
        });
    }

    public static void Backward(DType dtype, nint x, nint weight, nint mean, nint rstd, nint gradOutput,
        nint gradInput, nint gradWeight, nint gradBias, NormShape shape)
    {
        float[] w = LoadAll(dtype, weight, shape.Channels);
        var means = (float*)mean;
        var rstds = (float*)rstd;
        long channels = shape.Channels;
        long partials = (shape.Rows + RowsPerPartial - 1) / RowsPerPartial;
        double[] weightPartials = new double[partials * channels];
        double[] biasPartials = new double[partials * channels];
        int length = checked((int)shape.RowLength);
        CpuParallel.For(partials, 1, (p0, p1) =>
        {
            float[] scratch = ArrayPool<float>.Shared.Rent(2 * length);
            try
            {
                Span<float> xs = scratch.AsSpan(0, length), gs = scratch.AsSpan(length, length);
                for (long p = p0; p < p1; p++)
                {
                    Span<double> dw = weightPartials.AsSpan((int)(p * channels), (int)channels);
                    Span<double> db = biasPartials.AsSpan((int)(p * channels), (int)channels);
                    long lastRow = Math.Min(shape.Rows, (p + 1) * RowsPerPartial);
                    for (long r = p * RowsPerPartial; r < lastRow; r++)
                    {
                        long start = r * shape.RowLength;
                        ElementBlocks.Load(dtype, x, start, xs);
                        ElementBlocks.Load(dtype, gradOutput, start, gs);
                        RowBackward(xs, gs, w, means[r], rstds[r], r % shape.Groups * shape.ChannelsPerGroup, shape.Spatial, dw, db);
                        ElementBlocks.Store(dtype, gs, gradInput, start);
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(scratch);
            }
        });
        StoreSums(dtype, weightPartials, partials, channels, gradWeight);
        StoreSums(dtype, biasPartials, partials, channels, gradBias);
    }

    /// <summary>Two passes (mean, then mean squared deviation), each summed by <see cref="BlockedSum"/>.</summary>
    private static (float Mean, float Rstd) Statistics(ReadOnlySpan<float> row, Span<float> scratch, float eps)
    {
        float m = (float)(BlockedSum(row, squares: false) / row.Length);
        Span<float> deviations = scratch[..row.Length];
        TensorPrimitives.Subtract(row, m, deviations);
        double squares = BlockedSum(deviations, squares: true);
        return (m, (float)(1 / Math.Sqrt(squares / row.Length + eps)));
    }

    /// <summary>Σv (or Σv²) with each f32 block summed vectorised and the blocks added in f64, so long rows keep their precision.</summary>
    private static double BlockedSum(ReadOnlySpan<float> values, bool squares)
    {
        double total = 0;
        for (int i = 0; i < values.Length; i += ElementBlocks.Size)
        {
            ReadOnlySpan<float> block = values.Slice(i, Math.Min(ElementBlocks.Size, values.Length - i));
            total += squares ? TensorPrimitives.SumOfSquares(block) : TensorPrimitives.Sum(block);
        }
        return total;
    }

    /// <summary>
    /// dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = g·weight, written over <paramref name="gs"/>;
    /// adds g·x̂ and g into the row's channels of the partial weight and bias gradients.
    /// </summary>
    private static void RowBackward(ReadOnlySpan<float> xs, Span<float> gs, float[] w, float m, float s,
        long firstChannel, long spatial, Span<double> dw, Span<double> db)
    {
        double sumG = 0, sumGx = 0;
        for (int j = 0; j < xs.Length; j++)
        {
            long c = firstChannel + j / spatial;
            float xhat = (xs[j] - m) * s;
            float g = gs[j];
            dw[(int)c] += g * xhat;
            db[(int)c] += g;
            float gh = g * w[c];
            sumG += gh;
            sumGx += gh * xhat;
        }
        float meanG = (float)(sumG / xs.Length), meanGx = (float)(sumGx / xs.Length);
        for (int j = 0; j < xs.Length; j++)
        {
            float xhat = (xs[j] - m) * s;
            gs[j] = s * (gs[j] * w[firstChannel + j / spatial] - meanG - xhat * meanGx);
        }
    }

    private static float[] LoadAll(DType dtype, nint address, long count)
    {
        var values = new float[count];
        ElementBlocks.Load(dtype, address, 0, values);
        return values;
    }

    private static void StoreSums(DType dtype, double[] partials, long parts, long channels, nint destination)
    {
        var sums = new float[channels];
        for (long c = 0; c < channels; c++)
        {
            double total = 0;
            for (long p = 0; p < parts; p++)
            {
                total += partials[p * channels + c];
            }
            sums[c] = (float)total;
        }
        ElementBlocks.Store(dtype, sums, destination, 0);
    }
}
