using Dsoup.Engine.Autograd;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels;

namespace Dsoup.Engine;

/// <summary>The op set as functions on tensors: checks, a backend call, and the backward rule.</summary>
public static partial class Ops
{
    public static Tensor Add(Tensor left, Tensor right) => Binary(BinaryOp.Add, left, right);

    public static Tensor Subtract(Tensor left, Tensor right) => Binary(BinaryOp.Subtract, left, right);

    public static Tensor Multiply(Tensor left, Tensor right) => Binary(BinaryOp.Multiply, left, right);

    /// <summary>alpha · x.</summary>
    public static Tensor Scale(Tensor x, float alpha)
    {
        Tensor result = Tensor.Empty(x.Shape, x.DType, x.Device);
        x.Device.Backend.Scale(x.DType, alpha, x.View, result.View, x.Count);
        Tape.Record("Scale", [x], result, g => [Scale(g, alpha)]);
        return result;
    }

    /// <summary>alpha · x + y.</summary>
    public static Tensor Axpy(float alpha, Tensor x, Tensor y)
    {
        OpChecks.Compatible("Axpy", x, y);
        Tensor result = Tensor.Empty(x.Shape, x.DType, x.Device);
        x.Device.Backend.Axpy(x.DType, alpha, x.View, y.View, result.View, x.Count);
        Tape.Record("Axpy", [x, y], result, g => [Scale(g, alpha), Copy(g)]);
        return result;
    }

    /// <summary>A new tensor with the same values.</summary>
    public static Tensor Copy(Tensor x)
    {
        Tensor result = Tensor.Empty(x.Shape, x.DType, x.Device);
        x.Device.Backend.Copy(x.View, result.View, x.ByteCount);
        Tape.Record("Copy", [x], result, g => [Copy(g)]);
        return result;
    }

    private static Tensor Binary(BinaryOp op, Tensor left, Tensor right)
    {
        OpChecks.Compatible(op.ToString(), left, right);
        Tensor result = Tensor.Empty(left.Shape, left.DType, left.Device);
        left.Device.Backend.Binary(op, left.DType, left.View, right.View, result.View, left.Count);
        Tape.Record(op.ToString(), [left, right], result, g => op switch
        {
            BinaryOp.Add => [Copy(g), Copy(g)],
            BinaryOp.Subtract => [Copy(g), Scale(g, -1f)],
            _ => [Multiply(g, right), Multiply(g, left)],
        });
        return result;
    }

    /// <summary>Places <paramref name="rows"/> at row <paramref name="start"/> of a zero tensor with <paramref name="totalRows"/> rows (the adjoint of Slice).</summary>
    internal static Tensor PadRows(Tensor rows, int start, int totalRows)
    {
        Tensor result = Tensor.Zeros(rows.Shape.Replace(0, totalRows), rows.DType, rows.Device);
        long rowElements = rows.Shape.Product(1, rows.Shape.Rank);
        rows.Device.Backend.Copy(rows.View, result.ViewAt(start * rowElements), rows.ByteCount);
        return result;
    }
}
