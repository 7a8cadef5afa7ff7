using Dsoup.Kernels.Nn;
using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>Row softmax, one group per row (launched with <see cref="IlgpuBackend.GroupSize"/> threads).</summary>
public static class SoftmaxKernels
{
    [GpuKernel]
    public static void Softmax<T, E>(ArrayView<T> x, ArrayView<T> result, SoftmaxShape shape)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        var scratch = SharedMemory.Allocate<float>(GroupReduce.Slots);
        for (long row = Grid.IdxX; row < shape.Rows; row += Grid.DimX)
        {
            long start = row * shape.Columns;
            int visible = shape.Visible(row);
            float max = float.NegativeInfinity;
            for (int j = Group.IdxX; j < visible; j += Group.DimX)
            {
                float v = e.Load(x[start + j]);
                max = v > max ? v : max;
            }
            max = GroupReduce.Max(max, scratch);
            float sum = 0f;
            for (int j = Group.IdxX; j < visible; j += Group.DimX)
            {
                sum += MathF.Exp(e.Load(x[start + j]) - max);
            }
            float scale = 1f / GroupReduce.Sum(sum, scratch);
            for (int j = Group.IdxX; j < shape.Columns; j += Group.DimX)
            {
                result[start + j] = e.Store(j < visible ? MathF.Exp(e.Load(x[start + j]) - max) * scale : 0f);
            }
        }
    }

    [GpuKernel]
    public static void SoftmaxBackward<T, E>(ArrayView<T> y, ArrayView<T> gradOutput, ArrayView<T> gradInput, SoftmaxShape shape)
        where T : unmanaged
        where E : struct, IElement<T>
    {
        var e = default(E);
        var scratch = SharedMemory.Allocate<float>(GroupReduce.Slots);
        for (long row = Grid.IdxX; row < shape.Rows; row += Grid.DimX)
        {
            long start = row * shape.Columns;
            float dot = 0f;
            for (int j = Group.IdxX; j < shape.Columns; j += Group.DimX)
            {
                dot += e.Load(y[start + j]) * e.Load(gradOutput[start + j]);
            }
            dot = GroupReduce.Sum(dot, scratch);
            for (int j = Group.IdxX; j < shape.Columns; j += Group.DimX)
            {
                gradInput[start + j] = e.Store(e.Load(y[start + j]) * (e.Load(gradOutput[start + j]) - dot));
            }
        }
    }
}
