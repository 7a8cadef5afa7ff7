using System.Numerics.Tensors;
using Dsoup.Kernels.Nn;

namespace Dsoup.Kernels.Cpu.Nn;

/// <summary>Activations on the CPU, element by element with the formulas the GPU kernels use.</summary>
internal static class CpuActivations
{
    public static void Forward(Activation kind, DType dtype, nint x, nint result, long count)
    {
        int k = (int)kind;
        CpuElementwise.Unary(dtype, x, result, count, (xs, rs) =>
        {
            if (kind == Activation.Gelu || xs.Overlaps(rs))
            {
                for (int i = 0; i < xs.Length; i++)
                {
                    rs[i] = ActivationMath.Apply(k, xs[i]);
                }
                return;
            }
            // x·σ(slope·x), vectorised: the same formula as ActivationMath to a few ulps.
            TensorPrimitives.Multiply(xs, kind == Activation.Silu ? 1f : ActivationMath.QuickGeluSlope, rs);
            TensorPrimitives.Sigmoid(rs, rs);
            TensorPrimitives.Multiply(rs, xs, rs);
        });
    }

    public static void Backward(Activation kind, DType dtype, nint x, nint gradOutput, nint gradInput, long count)
    {
        int k = (int)kind;
        CpuElementwise.Binary(dtype, x, gradOutput, gradInput, count, (xs, gs, rs) =>
        {
            for (int i = 0; i < xs.Length; i++)
            {
                rs[i] = gs[i] * ActivationMath.Derivative(k, xs[i]);
            }
        });
    }
}
