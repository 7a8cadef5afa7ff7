using Dsoup.Engine.Autograd;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels;

namespace Dsoup.Engine;

public static partial class Ops
{
    /// <summary>Converts to <paramref name="dtype"/>, rounding to nearest even; NaN stays NaN.</summary>
    public static Tensor Convert(Tensor x, DType dtype)
    {
        Tensor result = Tensor.Empty(x.Shape, dtype, x.Device);
        x.Device.Backend.Convert(x.DType, x.View, dtype, result.View, x.Count);
        DType source = x.DType;
        Tape.Record("Convert", [x], result, g => [Convert(g, source)]);
        return result;
    }
}
