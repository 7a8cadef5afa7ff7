using Dsoup.Engine.Checkpoints;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Inspection;

/// <summary>How far one component moved from the base: ‖θ − θ_base‖ / ‖θ_base‖ over its floating-point tensors.</summary>
public sealed record ComponentChange(string Component, long Parameters, double BaseNorm, double ChangeNorm)
{
    public double Relative => BaseNorm > 0 ? ChangeNorm / BaseNorm : double.NaN;
}

/// <summary>One model's change from the base, per component.</summary>
public sealed record ModelChange(string Name, IReadOnlyList<ComponentChange> Components);

/// <summary>The cosine of two models' task vectors θ − θ_base over every compared tensor (near 0: the fine-tunes moved in unrelated directions).</summary>
public sealed record TaskVectorCosine(string First, string Second, double Cosine);

/// <summary>What <c>dsoup inspect MODEL... --base BASE</c> reports.</summary>
public sealed record WeightChangeReport(string Base, IReadOnlyList<ModelChange> Models, IReadOnlyList<TaskVectorCosine> Cosines);

/// <summary>
/// Weight-change diagnostics for fine-tunes of one base: per component, the relative norm of θ − θ_base (does
/// fine-tuning stay in the small-perturbation regime weight averaging assumes?), and the pairwise cosines of the
/// task vectors. Streams one tensor at a time, matched by canonical name across layouts and dtypes.
/// </summary>
public static class WeightChange
{
    public static WeightChangeReport Measure(string baseName, ModelCheckpoint baseModel, IReadOnlyList<(string Name, ModelCheckpoint Model)> models)
    {
        if (models.Count == 0)
        {
            throw new ArgumentException("name at least one model to compare with the base");
        }
        var components = new SortedDictionary<string, (long Parameters, double Base, double[] Change)>(StringComparer.Ordinal);
        var dots = new double[models.Count, models.Count];
        foreach (ModelTensor tensor in baseModel.Tensors.Where(t => t.Component is not null && t.Type.IsFloatingPoint()))
        {
            float[] theta = tensor.ReadSingles();
            var deltas = new float[models.Count][];
            for (int m = 0; m < models.Count; m++)
            {
                ModelTensor other = models[m].Model.Find(tensor.Name)
                    ?? throw new InvalidDataException($"{models[m].Name} has no '{tensor.Name}', which the base {baseName} has: not a fine-tune of it");
                if (!other.Shape.SequenceEqual(tensor.Shape))
                {
                    throw new InvalidDataException($"'{tensor.Name}' is {other.ShapeText} in {models[m].Name} but {tensor.ShapeText} in the base {baseName}");
                }
                float[] values = other.ReadSingles();
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] -= theta[i];
                }
                deltas[m] = values;
            }
            string component = tensor.Component!.Value.FolderName();
            (long parameters, double baseSquares, double[] change) = components.TryGetValue(component, out var found) ? found : (0, 0, new double[models.Count]);
            baseSquares += Dot(theta, theta);
            for (int a = 0; a < models.Count; a++)
            {
                for (int b = a; b < models.Count; b++)
                {
                    dots[a, b] += Dot(deltas[a], deltas[b]);
                }
                change[a] += Dot(deltas[a], deltas[a]);
            }
            components[component] = (parameters + theta.Length, baseSquares, change);
        }
        var changes = models.Select((m, i) => new ModelChange(m.Name,
            components.Select(c => new ComponentChange(c.Key, c.Value.Parameters, Math.Sqrt(c.Value.Base), Math.Sqrt(c.Value.Change[i]))).ToList())).ToList();
        var cosines = new List<TaskVectorCosine>();
        for (int a = 0; a < models.Count; a++)
        {
            for (int b = a + 1; b < models.Count; b++)
            {
                double norms = Math.Sqrt(dots[a, a] * dots[b, b]);
                cosines.Add(new TaskVectorCosine(models[a].Name, models[b].Name, norms > 0 ? dots[a, b] / norms : double.NaN));
            }
        }
        return new WeightChangeReport(baseName, changes, cosines);
    }

    private static double Dot(float[] x, float[] y)
    {
        double sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            sum += (double)x[i] * y[i];
        }
        return sum;
    }
}
