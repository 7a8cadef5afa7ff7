using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Devices;
using Dsoup.Engine.Tensors;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Soup;

/// <summary>
/// A soup held in memory on a device, for searching recipes without writing files (greedy soup: try an
/// ingredient, evaluate, keep or drop it). It keeps a float32 running sum Σ wᵢθᵢ of the accepted
/// ingredients; <see cref="Mean"/> and <see cref="Try"/> return averaged weights as device tensors by
/// canonical name. The sums are float32, so the mean can differ from the exact soup
/// <see cref="SoupEngine"/> writes by float32 rounding; write the chosen recipe with the engine.
/// </summary>
public sealed class CandidateSoup : IDisposable
{
    private readonly Device device;
    private readonly Func<string, bool> keep;
    private readonly Dictionary<string, Tensor> sums = new(StringComparer.Ordinal);
    private readonly List<(string Name, double Weight)> members = [];

    /// <param name="device">Where the sums live and the averages are computed.</param>
    /// <param name="keep">Which canonical tensor names take part (default: every floating-point tensor).</param>
    public CandidateSoup(Device device, Func<string, bool>? keep = null)
    {
        this.device = device;
        this.keep = keep ?? (_ => true);
    }

    public IReadOnlyList<(string Name, double Weight)> Members => members;

    public double TotalWeight => members.Sum(m => m.Weight);

    /// <summary>Adds an ingredient to the soup for good.</summary>
    public void Accept(ModelCheckpoint model, string name, double weight = 1)
    {
        CheckWeight(weight);
        foreach ((string tensorName, Tensor theta) in Load(model, name))
        {
            using (theta)
            {
                Tensor updated = sums.TryGetValue(tensorName, out Tensor? sum) ? Engine.Ops.Axpy((float)weight, theta, sum) : Engine.Ops.Scale(theta, (float)weight);
                sum?.Dispose();
                sums[tensorName] = updated;
            }
        }
        members.Add((name, weight));
    }

    /// <summary>Takes an accepted ingredient out again (unlearning a shard in the search).</summary>
    public void Remove(ModelCheckpoint model, string name)
    {
        int index = members.FindIndex(m => m.Name == name);
        if (index < 0)
        {
            throw new ArgumentException($"{name} is not in this soup (members: {string.Join(", ", members.Select(m => m.Name))})");
        }
        double weight = members[index].Weight;
        foreach ((string tensorName, Tensor theta) in Load(model, name))
        {
            using (theta)
            {
                Tensor sum = sums[tensorName];
                sums[tensorName] = Engine.Ops.Axpy(-(float)weight, theta, sum);
                sum.Dispose();
            }
        }
        members.RemoveAt(index);
    }

    /// <summary>The average of the accepted ingredients; the caller disposes it.</summary>
    public SoupWeights Mean()
    {
        if (members.Count == 0)
        {
            throw new InvalidOperationException("the soup is empty: accept an ingredient first");
        }
        float scale = (float)(1 / TotalWeight);
        return new SoupWeights(sums.ToDictionary(s => s.Key, s => Engine.Ops.Scale(s.Value, scale), StringComparer.Ordinal));
    }

    /// <summary>The average the soup would have with <paramref name="model"/> added, leaving the soup as it is.</summary>
    public SoupWeights Try(ModelCheckpoint model, string name, double weight = 1)
    {
        CheckWeight(weight);
        return Combine(model, name, weight, TotalWeight + weight);
    }

    /// <summary>The average the soup would have without member <paramref name="name"/> (<paramref name="model"/>), leaving the soup as it is.</summary>
    public SoupWeights TryWithout(ModelCheckpoint model, string name)
    {
        int index = members.FindIndex(m => m.Name == name);
        if (index < 0 || members.Count < 2)
        {
            throw new ArgumentException(index < 0 ? $"{name} is not in this soup" : "the soup's only member cannot be left out");
        }
        double weight = members[index].Weight;
        return Combine(model, name, -weight, TotalWeight - weight);
    }

    /// <summary>(Σ + weight·θ) / total for every tensor, as new device tensors.</summary>
    private SoupWeights Combine(ModelCheckpoint model, string name, double weight, double total)
    {
        float scale = (float)(1 / total);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach ((string tensorName, Tensor theta) in Load(model, name))
            {
                using (theta)
                {
                    if (sums.TryGetValue(tensorName, out Tensor? sum))
                    {
                        using Tensor combined = Engine.Ops.Axpy((float)weight, theta, sum);
                        result[tensorName] = Engine.Ops.Scale(combined, scale);
                    }
                    else
                    {
                        result[tensorName] = Engine.Ops.Scale(theta, (float)(weight * scale));
                    }
                }
            }
        }
        catch
        {
            new SoupWeights(result).Dispose();
            throw;
        }
        return new SoupWeights(result);
    }

    /// <summary>The model's kept tensors as float32 on the device, checked against the soup's names and shapes.</summary>
    private IEnumerable<(string Name, Tensor Values)> Load(ModelCheckpoint model, string name)
    {
        var tensors = model.Tensors.Where(t => t.Type.IsFloatingPoint() && keep(t.Name)).ToList();
        if (sums.Count > 0)
        {
            var missing = sums.Keys.Where(k => model.Find(k) is null).ToList();
            if (missing.Count > 0)
            {
                throw new InvalidDataException($"{name} lacks {missing.Count} tensors the soup holds, e.g. '{missing[0]}'");
            }
            foreach (ModelTensor t in tensors)
            {
                if (!sums.TryGetValue(t.Name, out Tensor? sum))
                {
                    throw new InvalidDataException($"{name} has tensor '{t.Name}' that the soup's first ingredient lacks");
                }
                if (!sum.Shape.Equals(ShapeOf(t)))
                {
                    throw new InvalidDataException($"'{t.Name}' is {t.ShapeText} in {name} but {sum.Shape} in the soup");
                }
            }
        }
        foreach (ModelTensor t in tensors)
        {
            yield return (t.Name, Tensor.FromArray(t.ReadSingles(), ShapeOf(t), Kernels.DType.F32, device));
        }
    }

    private static Shape ShapeOf(ModelTensor t) => new(t.Shape.Select(d => checked((int)d)).ToArray());

    private static void CheckWeight(double weight)
    {
        if (!double.IsFinite(weight) || weight <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(weight), $"an ingredient's weight must be a positive number; got {weight}");
        }
    }

    public void Dispose()
    {
        foreach (Tensor sum in sums.Values)
        {
            sum.Dispose();
        }
        sums.Clear();
    }
}

/// <summary>Averaged weights by canonical name, as device tensors; disposing frees them.</summary>
public sealed class SoupWeights(Dictionary<string, Tensor> tensors) : IDisposable
{
    public IReadOnlyDictionary<string, Tensor> Tensors => tensors;

    public Tensor this[string name] => tensors[name];

    public void Dispose()
    {
        foreach (Tensor t in tensors.Values)
        {
            t.Dispose();
        }
    }
}
