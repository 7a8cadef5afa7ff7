namespace Dsoup.Engine.Tests.Harness;

/// <summary>
/// One op under test: how to run it on tensors, and its float64 reference on flattened row-major
/// inputs. The harness runs it on every backend and dtype, forward against the reference and
/// backward against central finite differences of the reference (or, for shapes too large for them,
/// against <see cref="Gradient"/>).
/// </summary>
public sealed record OpCase(string Name, Shape[] Inputs, Func<Tensor[], Tensor> Run, Func<double[][], double[]> Reference)
{
    /// <summary>Inputs are drawn uniformly from [−Scale, Scale].</summary>
    public double Scale { get; init; } = 1.0;

    /// <summary>
    /// The float64 gradients of Σ seed·f(x) for every input, written from the op's calculus; when set the
    /// backward check uses them instead of finite differences. A test checks them against finite
    /// differences on a small shape.
    /// </summary>
    public Func<double[][], double[], double[][]>? Gradient { get; init; }

    public override string ToString() => Name;
}
