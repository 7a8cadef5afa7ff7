using System.Numerics.Tensors;
using Dsoup.Kernels.Nn;

namespace Dsoup.Kernels.Cpu.Nn;

/// <summary>Row softmax in f32: maximum subtracted first; causally masked entries are 0.</summary>
internal static class CpuSoftmax
{
    public static void Forward(DType dtype, nint x, nint result, SoftmaxShape shape) =>
        CpuRows.For(shape.Rows, shape.Columns, (r, row, _) =>
        {
            int visible = shape.Visible(r);
            long start = r * shape.Columns;
            ElementBlocks.Load(dtype, x, start, row);
            Span<float> seen = row[..visible];
            float max = TensorPrimitives.Max<float>(seen);
            TensorPrimitives.Subtract(seen, max, seen);
            TensorPrimitives.Exp(seen, seen);
            float sum = TensorPrimitives.Sum<float>(seen);
            TensorPrimitives.Multiply(seen, 1f / sum, seen);
            row[visible..].Clear();
            ElementBlocks.Store(dtype, row, result, start);
        });

    public static void Backward(DType dtype, nint y, nint gradOutput, nint gradInput, SoftmaxShape shape) =>
        CpuRows.For(shape.Rows, shape.Columns, (r, ys, gs) =>
        {
            long start = r * shape.Columns;
            ElementBlocks.Load(dtype, y, start, ys);
            ElementBlocks.Load(dtype, gradOutput, start, gs);
            float dot = TensorPrimitives.Dot<float>(ys, gs);
            TensorPrimitives.Subtract(gs, dot, gs);
            TensorPrimitives.Multiply(gs, ys, gs);
            ElementBlocks.Store(dtype, gs, gradInput, start);
        });
}
