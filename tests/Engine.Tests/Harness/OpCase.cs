namespace Dsoup.Engine.Tests.Harness;

/// <summary>
/// One op under test: how to run it on tensors, and its float64 reference on flattened row-major
/// inputs. The harness runs it on every backend and dtype, forward against the reference and
/// backward against central finite differences of the reference.
/// </summary>
public sealed record OpCase(string Name, Shape[] Inputs, Func<Tensor[], Tensor> Run, Func<double[][], double[]> Reference)
{
    /// <summary>Inputs are drawn uniformly from [−Scale, Scale].</summary>
    public double Scale { get; init; } = 1.0;

    public override string ToString() => Name;
}
