namespace Dsoup.Models.Architecture;

/// <summary>One learnable tensor of a model: its diffusers name (within its component) and shape.</summary>
public sealed record ParameterSpec(string Name, long[] Shape)
{
    public long Count => Shape.Aggregate(1L, (a, d) => a * d);
}

/// <summary>Collects parameter specs in module order, with name prefixes for nested modules.</summary>
internal sealed class ParameterList
{
    private readonly List<ParameterSpec> specs = [];

    public IReadOnlyList<ParameterSpec> Specs => specs;

    public void Add(string name, params long[] shape) => specs.Add(new ParameterSpec(name, shape));

    /// <summary>A weight and, for most layers, a bias of the weight's first dimension.</summary>
    public void Layer(string name, long[] weight, bool bias = true)
    {
        Add(name + ".weight", weight);
        if (bias)
        {
            Add(name + ".bias", weight[0]);
        }
    }

    public void Norm(string name, long channels)
    {
        Add(name + ".weight", channels);
        Add(name + ".bias", channels);
    }

    public void Conv(string name, long output, long input, long kernel) => Layer(name, [output, input, kernel, kernel]);

    public void Linear(string name, long output, long input, bool bias = true) => Layer(name, [output, input], bias);
}
