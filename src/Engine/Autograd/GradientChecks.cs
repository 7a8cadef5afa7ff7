using Dsoup.Engine.Tensors;

namespace Dsoup.Engine.Autograd;

internal static class GradientChecks
{
    /// <summary>A gradient must have the shape, dtype and device of its tensor; anything else is a bug in a backward function.</summary>
    public static void Match(string what, Tensor tensor, Tensor gradient)
    {
        if (gradient.Shape != tensor.Shape || gradient.DType != tensor.DType || !ReferenceEquals(gradient.Device, tensor.Device))
        {
            throw new InvalidOperationException(
                $"{what}: expected {tensor.Shape} {tensor.DType.Name()} on {tensor.Device.Name}, got {gradient.Shape} {gradient.DType.Name()} on {gradient.Device.Name}");
        }
    }
}
