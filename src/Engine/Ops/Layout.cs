using Dsoup.Engine.Autograd;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels;
using Dsoup.Kernels.Nn;

namespace Dsoup.Engine;

public static partial class Ops
{
    /// <summary>Elements [start, start + length) along <paramref name="axis"/>, as a new tensor.</summary>
    public static Tensor Narrow(Tensor x, int axis, int start, int length)
    {
        const string op = "Narrow";
        OpChecks.MinimumRank(op, x, 1, "the input");
        int a = x.Shape.Axis(axis);
        if (start < 0 || length < 0 || start + length > x.Shape[a])
        {
            throw new ArgumentException($"{op}: [{start}, {start + length}) lies outside axis {a} of {x.Shape} (size {x.Shape[a]})");
        }
        Shape shape = x.Shape;
        Tensor result = Tensor.Empty(shape.Replace(a, length), x.DType, x.Device);
        CopyAlong(x, result, a, sourceStart: start, destinationStart: 0, length);
        Tape.Record(op, [x], result, g =>
        {
            Tensor gradInput = Tensor.Zeros(shape, g.DType, g.Device);
            CopyAlong(g, gradInput, a, sourceStart: 0, destinationStart: start, length);
            return [gradInput];
        });
        return result;
    }

    /// <summary>The tensors joined along <paramref name="axis"/> (UNet skip connections: [x, skip] on channels).</summary>
    public static Tensor Concat(IReadOnlyList<Tensor> parts, int axis)
    {
        const string op = "Concat";
        if (parts.Count == 0)
        {
            throw new ArgumentException($"{op}: nothing to concatenate");
        }
        Tensor first = parts[0];
        OpChecks.MinimumRank(op, first, 1, "the first part");
        int a = first.Shape.Axis(axis);
        foreach (Tensor part in parts)
        {
            OpChecks.SameDevice(op, first, part);
            OpChecks.SameDType(op, first, part);
            if (part.Shape.Rank != first.Shape.Rank || part.Shape.Replace(a, 1) != first.Shape.Replace(a, 1))
            {
                throw new ArgumentException($"{op}: shapes {first.Shape} and {part.Shape} differ outside axis {a}");
            }
        }
        int total = parts.Sum(p => p.Shape[a]);
        Tensor result = Tensor.Empty(first.Shape.Replace(a, total), first.DType, first.Device);
        int[] starts = new int[parts.Count];
        for (int i = 0, at = 0; i < parts.Count; at += parts[i].Shape[a], i++)
        {
            starts[i] = at;
            CopyAlong(parts[i], result, a, sourceStart: 0, destinationStart: at, parts[i].Shape[a]);
        }
        Tape.Record(op, [.. parts], [result], grads => parts.Select((p, i) =>
        {
            Tensor gradPart = Tensor.Empty(p.Shape, p.DType, p.Device);
            CopyAlong(grads[0], gradPart, a, sourceStart: starts[i], destinationStart: 0, p.Shape[a]);
            return (Tensor?)gradPart;
        }).ToArray(), force: false);
        return result;
    }

    /// <summary>Swaps <paramref name="axis"/> with the axis after it: [.., A, B, ..] → [.., B, A, ..].</summary>
    public static Tensor SwapAxes(Tensor x, int axis)
    {
        const string op = "SwapAxes";
        OpChecks.MinimumRank(op, x, 2, "the input");
        int a = x.Shape.Axis(axis);
        if (a + 1 >= x.Shape.Rank)
        {
            throw new ArgumentException($"{op}: axis {a} of {x.Shape} has no axis after it to swap with");
        }
        var swap = new AxisSwap(x.Shape.Product(0, a), x.Shape[a], x.Shape[a + 1], x.Shape.Product(a + 2, x.Shape.Rank));
        int[] dims = x.Shape.Dims.ToArray();
        (dims[a], dims[a + 1]) = (dims[a + 1], dims[a]);
        Tensor result = Tensor.Empty(new Shape(dims), x.DType, x.Device);
        x.Device.Backend.SwapAxes(x.DType, x.View, result.View, swap);
        Tape.Record(op, [x], result, g =>
        {
            Tensor gradInput = Tensor.Empty(x.Shape, g.DType, g.Device);
            g.Device.Backend.SwapAxes(g.DType, g.View, gradInput.View, swap.Inverse);
            return [gradInput];
        });
        return result;
    }

    /// <summary>
    /// Inserts an axis of size <paramref name="count"/> at <paramref name="axis"/>, repeating x along it:
    /// a bias over rows, a time embedding over a feature map's pixels. The gradient sums over it.
    /// </summary>
    public static Tensor Repeat(Tensor x, int axis, int count)
    {
        const string op = "Repeat";
        if (axis < 0 || axis > x.Shape.Rank || count < 0)
        {
            throw new ArgumentException($"{op}: cannot insert an axis of {count} at position {axis} of {x.Shape}");
        }
        var shape = new ReduceShape(x.Shape.Product(0, axis), count, x.Shape.Product(axis, x.Shape.Rank));
        int[] dims = [.. x.Shape.Dims[..axis], count, .. x.Shape.Dims[axis..]];
        Tensor result = Tensor.Empty(new Shape(dims), x.DType, x.Device);
        x.Device.Backend.BroadcastAxis(x.DType, x.View, result.View, shape, 1f);
        Tape.Record(op, [x], result, g =>
        {
            Tensor gradInput = Tensor.Empty(x.Shape, g.DType, g.Device);
            g.Device.Backend.SumAxis(g.DType, g.View, gradInput.View, shape, 1f);
            return [gradInput];
        });
        return result;
    }

    /// <summary>h [N, C, ...] + v [N, C] added at every position of each channel (a time embedding into a feature map).</summary>
    public static Tensor AddPerChannel(Tensor h, Tensor v)
    {
        const string op = "AddPerChannel";
        OpChecks.MinimumRank(op, h, 2, "the feature map");
        if (v.Shape != new Shape(h.Shape[0], h.Shape[1]))
        {
            throw new ArgumentException($"{op}: the vector has shape {v.Shape}; expected [{h.Shape[0]}, {h.Shape[1]}] for the feature map {h.Shape}");
        }
        using var temps = new Intermediates();
        Tensor spread = temps.Add(Repeat(v, 2, checked((int)h.Shape.Product(2, h.Shape.Rank))));
        return h + temps.Add(spread.Reshape(h.Shape.Dims.ToArray()));
    }

    /// <summary>Nearest upsampling of [N, C, H, W] by an integer factor (the UNet and VAE use 2).</summary>
    public static Tensor UpsampleNearest(Tensor x, int factor = 2)
    {
        const string op = "UpsampleNearest";
        if (x.Shape.Rank != 4 || factor < 1)
        {
            throw new ArgumentException($"{op}: needs an [N, C, H, W] input and a factor ≥ 1; got {x.Shape} and {factor}");
        }
        int height = x.Shape[2], width = x.Shape[3];
        long planes = x.Shape.Product(0, 2);
        Tensor result = Tensor.Empty(new Shape(x.Shape[0], x.Shape[1], height * factor, width * factor), x.DType, x.Device);
        x.Device.Backend.Upsample(x.DType, x.View, result.View, planes, height, width, factor);
        Tape.Record(op, [x], result, g =>
        {
            Tensor gradInput = Tensor.Empty(x.Shape, g.DType, g.Device);
            g.Device.Backend.UpsampleBackward(g.DType, g.View, gradInput.View, planes, height, width, factor);
            return [gradInput];
        });
        return result;
    }

    /// <summary>Copies a run along axis <paramref name="a"/> between two tensors that agree on every other axis.</summary>
    private static void CopyAlong(Tensor source, Tensor destination, int a, int sourceStart, int destinationStart, int length)
    {
        var copy = new AxisCopy(source.Shape.Product(0, a), source.Shape.Product(a + 1, source.Shape.Rank),
            source.Shape[a], sourceStart, destination.Shape[a], destinationStart, length);
        if (copy.CopiedCount > 0)
        {
            source.Device.Backend.CopyAxis(source.DType, source.View, destination.View, copy);
        }
    }
}
