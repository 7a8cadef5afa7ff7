namespace Dsoup.Kernels;

/// <summary>Elementwise operations on two tensors of one shape.</summary>
public enum BinaryOp
{
    Add,
    Subtract,
    Multiply,
}
