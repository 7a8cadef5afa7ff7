using Dsoup.Engine.Autograd;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels.Nn;

namespace Dsoup.Engine;

public static partial class Ops
{
    /// <summary>x·σ(x).</summary>
    public static Tensor Silu(Tensor x) => Activate(Activation.Silu, x);

    /// <summary>0.5·x·(1 + erf(x/√2)), the exact GELU.</summary>
    public static Tensor Gelu(Tensor x) => Activate(Activation.Gelu, x);

    /// <summary>x·σ(1.702·x), OpenAI CLIP's activation.</summary>
    public static Tensor QuickGelu(Tensor x) => Activate(Activation.QuickGelu, x);

    /// <summary>GEGLU of a last axis of 2·d: the first half is the value, GELU of the second half the gate.</summary>
    public static Tensor Geglu(Tensor x)
    {
        const string op = "GEGLU";
        OpChecks.MinimumRank(op, x, 1, "the input");
        if (x.Shape[-1] % 2 != 0)
        {
            throw new ArgumentException($"{op}: the last axis must hold value and gate halves of equal size; got {x.Shape}");
        }
        int half = x.Shape[-1] / 2;
        using var temps = new Intermediates();
        Tensor value = temps.Add(Narrow(x, -1, 0, half));
        Tensor activated = temps.Add(Gelu(temps.Add(Narrow(x, -1, half, half))));
        return value * activated;
    }

    private static Tensor Activate(Activation kind, Tensor x)
    {
        Tensor result = Tensor.Empty(x.Shape, x.DType, x.Device);
        x.Device.Backend.Activate(kind, x.DType, x.View, result.View, x.Count);
        Tape.Record(kind.ToString(), [x], result, g =>
        {
            Tensor gradInput = Tensor.Empty(x.Shape, x.DType, x.Device);
            x.Device.Backend.ActivateBackward(kind, x.DType, x.View, g.View, gradInput.View, x.Count);
            return [gradInput];
        });
        return result;
    }
}
