using Dsoup.Engine.Tensors;

namespace Dsoup.Engine;

/// <summary>Argument checks shared by ops; every message says what was expected and what was given.</summary>
internal static class OpChecks
{
    public static void SameDevice(string op, Tensor left, Tensor right)
    {
        if (!ReferenceEquals(left.Device, right.Device))
        {
            throw new ArgumentException(
                $"{op}: operands live on different devices: left on {left.Device.Name}, right on {right.Device.Name}; move one with To(device)");
        }
    }

    public static void SameDType(string op, Tensor left, Tensor right)
    {
        if (left.DType != right.DType)
        {
            throw new ArgumentException(
                $"{op}: dtypes differ: left {left.DType.Name()}, right {right.DType.Name()}; convert one with ToDType first");
        }
    }

    public static void SameShape(string op, Tensor left, Tensor right)
    {
        if (left.Shape != right.Shape)
        {
            throw new ArgumentException($"{op}: shapes differ: left {left.Shape}, right {right.Shape}; expected equal shapes");
        }
    }

    public static void Compatible(string op, Tensor left, Tensor right)
    {
        SameDevice(op, left, right);
        SameDType(op, left, right);
        SameShape(op, left, right);
    }

    public static void MinimumRank(string op, Tensor tensor, int rank, string role)
    {
        if (tensor.Shape.Rank < rank)
        {
            throw new ArgumentException($"{op}: {role} must have rank ≥ {rank}; got {tensor.Shape} (rank {tensor.Shape.Rank})");
        }
    }
}
