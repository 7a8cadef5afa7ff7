using Dsoup.Kernels.Nn;
using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>
/// LayerNorm and GroupNorm rows (see <see cref="NormShape"/>): one group per row for the forward pass
/// and the input gradient, one group per channel for the weight and bias gradients, or one thread per
/// row or channel where <c>perThread</c> is set (short rows). Statistics are two-pass in f32 (mean,
/// then mean squared deviation).
/// </summary>
public static class NormKernels
{
    [GpuKernel]
    public static void Normalize<T, E>(ArrayView<T> x, ArrayView<T> weight, ArrayView<T> bias, ArrayView<T> y,
        ArrayView<float> mean, ArrayView<float> rstd, NormShape shape, float eps, int perThread)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        var scratch = SharedMemory.Allocate<float>(GroupReduce.Slots);
        bool alone = perThread != 0;
        var (first, step, lane, lanes) = GroupReduce.Items(alone);
        long length = shape.RowLength;
        for (long row = first; row < shape.Rows; row += step)
        {
            long start = row * length;
            float sum = 0f;
            for (long j = lane; j < length; j += lanes)
            {
                sum += e.Load(x[start + j]);
            }
            float m = GroupReduce.Sum(sum, scratch, alone) / length;
            float squares = 0f;
            for (long j = lane; j < length; j += lanes)
            {
                float d = e.Load(x[start + j]) - m;
                squares += d * d;
            }
            float s = 1f / MathF.Sqrt(GroupReduce.Sum(squares, scratch, alone) / length + eps);
            if (lane == 0)
            {
                mean[row] = m;
                rstd[row] = s;
            }
            long firstChannel = row % shape.Groups * shape.ChannelsPerGroup;
            for (long j = lane; j < length; j += lanes)
            {
                long c = firstChannel + j / shape.Spatial;
                y[start + j] = e.Store((e.Load(x[start + j]) - m) * s * e.Load(weight[c]) + e.Load(bias[c]));
            }
        }
    }

    /// <summary>dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = g·weight.</summary>
    [GpuKernel]
    public static void NormalizeBackwardInput<T, E>(ArrayView<T> x, ArrayView<T> weight, ArrayView<float> mean, ArrayView<float> rstd,
        ArrayView<T> gradOutput, ArrayView<T> gradInput, NormShape shape, int perThread)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        var scratch = SharedMemory.Allocate<float>(GroupReduce.Slots);
        bool alone = perThread != 0;
        var (first, step, lane, lanes) = GroupReduce.Items(alone);
        long length = shape.RowLength;
        for (long row = first; row < shape.Rows; row += step)
        {
            long start = row * length;
            long firstChannel = row % shape.Groups * shape.ChannelsPerGroup;
            float m = mean[row], s = rstd[row];
            float sumG = 0f, sumGx = 0f;
            for (long j = lane; j < length; j += lanes)
            {
                float gh = e.Load(gradOutput[start + j]) * e.Load(weight[firstChannel + j / shape.Spatial]);
                sumG += gh;
                sumGx += gh * (e.Load(x[start + j]) - m) * s;
            }
            float meanG = GroupReduce.Sum(sumG, scratch, alone) / length;
            float meanGx = GroupReduce.Sum(sumGx, scratch, alone) / length;
            for (long j = lane; j < length; j += lanes)
            {
                float gh = e.Load(gradOutput[start + j]) * e.Load(weight[firstChannel + j / shape.Spatial]);
                float xhat = (e.Load(x[start + j]) - m) * s;
                gradInput[start + j] = e.Store(s * (gh - meanG - xhat * meanGx));
            }
        }
    }

    /// <summary>dweight[c] = Σ g·x̂ and dbias[c] = Σ g over every sample and spatial position of channel c.</summary>
    [GpuKernel]
    public static void NormalizeBackwardParameters<T, E>(ArrayView<T> x, ArrayView<float> mean, ArrayView<float> rstd,
        ArrayView<T> gradOutput, ArrayView<T> gradWeight, ArrayView<T> gradBias, NormShape shape, int perThread)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        var scratch = SharedMemory.Allocate<float>(GroupReduce.Slots);
        bool alone = perThread != 0;
        var (first, step, lane, lanes) = GroupReduce.Items(alone);
        long perChannel = shape.Samples * shape.Spatial;
        for (long c = first; c < shape.Channels; c += step)
        {
            long slot = c / shape.ChannelsPerGroup, offset = c % shape.ChannelsPerGroup * shape.Spatial;
            float dw = 0f, db = 0f;
            for (long i = lane; i < perChannel; i += lanes)
            {
                long row = i / shape.Spatial * shape.Groups + slot;
                long index = row * shape.RowLength + offset + i % shape.Spatial;
                float g = e.Load(gradOutput[index]);
                dw += g * (e.Load(x[index]) - mean[row]) * rstd[row];
                db += g;
            }
            dw = GroupReduce.Sum(dw, scratch, alone);
            db = GroupReduce.Sum(db, scratch, alone);
            if (lane == 0)
            {
                gradWeight[c] = e.Store(dw);
                gradBias[c] = e.Store(db);
            }
        }
    }
}
