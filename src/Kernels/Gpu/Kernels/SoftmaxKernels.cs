using Dsoup.Kernels.Nn;
using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>
/// Row softmax, one group per row (launched with <see cref="IlgpuBackend.GroupSize"/> threads), or one
/// thread per row where <c>perThread</c> is set (short rows).
/// </summary>
public static class SoftmaxKernels
{
    [GpuKernel]
    public static void Softmax<T, E>(ArrayView<T> x, ArrayView<T> result, SoftmaxShape shape, int perThread)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        var scratch = SharedMemory.Allocate<float>(GroupReduce.Slots);
        bool alone = perThread != 0;
        var (first, step, lane, lanes) = GroupReduce.Items(alone);
        for (long row = first; row < shape.Rows; row += step)
        {
            long start = row * shape.Columns;
            int visible = shape.Visible(row);
            float max = float.NegativeInfinity;
            for (int j = lane; j < visible; j += lanes)
            {
                float v = e.Load(x[start + j]);
                max = v > max ? v : max;
            }
            max = GroupReduce.Max(max, scratch, alone);
            float sum = 0f;
            for (int j = lane; j < visible; j += lanes)
            {
                sum += MathF.Exp(e.Load(x[start + j]) - max);
            }
            float scale = 1f / GroupReduce.Sum(sum, scratch, alone);
            for (int j = lane; j < shape.Columns; j += lanes)
            {
                result[start + j] = e.Store(j < visible ? MathF.Exp(e.Load(x[start + j]) - max) * scale : 0f);
            }
        }
    }

    [GpuKernel]
    public static void SoftmaxBackward<T, E>(ArrayView<T> y, ArrayView<T> gradOutput, ArrayView<T> gradInput, SoftmaxShape shape, int perThread)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        var scratch = SharedMemory.Allocate<float>(GroupReduce.Slots);
        bool alone = perThread != 0;
        var (first, step, lane, lanes) = GroupReduce.Items(alone);
        for (long row = first; row < shape.Rows; row += step)
        {
            long start = row * shape.Columns;
            float dot = 0f;
            for (int j = lane; j < shape.Columns; j += lanes)
            {
                dot += e.Load(y[start + j]) * e.Load(gradOutput[start + j]);
            }
            dot = GroupReduce.Sum(dot, scratch, alone);
            for (int j = lane; j < shape.Columns; j += lanes)
            {
                gradInput[start + j] = e.Store(e.Load(y[start + j]) * (e.Load(gradOutput[start + j]) - dot));
            }
        }
    }
}
