using Dsoup.Engine.Tensors;

namespace Dsoup.Engine.Autograd;

/// <summary>
/// Gradients collected during one backward pass, keyed by tensor identity. It owns the tensors it
/// created and disposes them at the end, except those a caller takes.
/// </summary>
internal sealed class GradientMap : IDisposable
{
    private readonly Dictionary<Tensor, Tensor> gradients = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<Tensor> created = new(ReferenceEqualityComparer.Instance);

    public IEnumerable<KeyValuePair<Tensor, Tensor>> Entries => gradients;

    public Tensor? Get(Tensor tensor) => gradients.GetValueOrDefault(tensor);

    /// <summary>Sets the starting gradient of a root; seeds are the caller's and are not disposed.</summary>
    public void Seed(Tensor tensor, Tensor seed) => gradients[tensor] = seed;

    /// <summary>Adds <paramref name="gradient"/> (created by this pass) to the gradient of <paramref name="tensor"/>.</summary>
    public void Accumulate(Tensor tensor, Tensor gradient)
    {
        created.Add(gradient);
        if (gradients.TryGetValue(tensor, out Tensor? existing))
        {
            Tensor sum = Ops.Add(existing, gradient);
            created.Add(sum);
            gradients[tensor] = sum;
        }
        else
        {
            gradients[tensor] = gradient;
        }
    }

    /// <summary>Tracks a helper tensor (a zero gradient) for disposal.</summary>
    public Tensor Own(Tensor tensor)
    {
        created.Add(tensor);
        return tensor;
    }

    /// <summary>Hands the gradient of <paramref name="tensor"/> to the caller, who disposes it.</summary>
    public Tensor? Take(Tensor tensor)
    {
        if (!gradients.TryGetValue(tensor, out Tensor? gradient))
        {
            return null;
        }
        if (!created.Remove(gradient))
        {
            gradient = Ops.Copy(gradient);
        }
        return gradient;
    }

    public void Dispose()
    {
        foreach (Tensor tensor in created)
        {
            tensor.Dispose();
        }
        created.Clear();
        gradients.Clear();
    }
}
