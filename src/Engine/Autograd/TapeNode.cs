using Dsoup.Engine.Tensors;

namespace Dsoup.Engine.Autograd;

/// <summary>
/// Computes input gradients from output gradients. Returns one entry per input (null where an input
/// gets no gradient); each entry must be a new tensor (or view), never one of the forward tensors.
/// </summary>
internal delegate Tensor?[] BackwardFunction(Tensor[] outputGradients);

/// <summary>One recorded op: what it read, what it produced, how to send gradients back.</summary>
internal sealed record TapeNode(string Op, Tensor[] Inputs, Tensor[] Outputs, BackwardFunction Backward);
