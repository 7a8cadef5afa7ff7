using Dsoup.Engine.Linalg;

namespace Dsoup.Models.Lora;

/// <summary>One module of one LoRA, bound to the model tensor it patches, with its strength.</summary>
public sealed record LoraPatch(LoraModule Module, double Strength, string LoraName);

/// <summary>
/// Which model tensors which LoRA modules patch, resolved by name from headers: every module must find
/// its tensor with a matching shape, or the merge does not start (a LoRA that silently patches nothing
/// is the classic failure of mismatched key conventions).
/// </summary>
public sealed class LoraTargets
{
    private readonly Dictionary<string, List<LoraPatch>> byTensor;

    private LoraTargets(Dictionary<string, List<LoraPatch>> byTensor) => this.byTensor = byTensor;

    public int PatchedTensors => byTensor.Count;

    public int Modules => byTensor.Values.Sum(p => p.Count);

    public IReadOnlyList<LoraPatch> For(string tensorName) => byTensor.GetValueOrDefault(tensorName) ?? [];

    /// <summary>Resolves the LoRAs against (name, shape) of the tensors being written; problems go to <paramref name="conflicts"/>.</summary>
    public static LoraTargets Resolve(IReadOnlyList<SoupLora> loras, IEnumerable<(string Name, long[] Shape)> tensors, List<string> conflicts)
    {
        var byId = new Dictionary<string, (string Name, long[] Shape)>(StringComparer.Ordinal);
        foreach (var tensor in tensors)
        {
            if (LoraKeys.IdOfTensor(tensor.Name) is string id)
            {
                byId[id] = tensor;
            }
        }
        var byTensor = new Dictionary<string, List<LoraPatch>>(StringComparer.Ordinal);
        foreach (SoupLora lora in loras)
        {
            var unmatched = new List<string>();
            foreach (LoraModule module in lora.File.Modules)
            {
                if (!byId.TryGetValue(module.Id, out var target))
                {
                    unmatched.Add(module.Module);
                    continue;
                }
                long elements = target.Shape.Aggregate(1L, (a, d) => a * d);
                if (target.Shape[0] != module.OutFeatures || elements != module.OutFeatures * module.RowLength)
                {
                    conflicts.Add($"{lora.Name}: module '{module.Module}' makes a {module.OutFeatures}×{module.RowLength} update but '{target.Name}' is [{string.Join(", ", target.Shape)}]");
                    continue;
                }
                if (!byTensor.TryGetValue(target.Name, out var patches))
                {
                    byTensor[target.Name] = patches = [];
                }
                patches.Add(new LoraPatch(module, lora.Strength, lora.Name));
            }
            if (unmatched.Count > 0)
            {
                conflicts.Add($"{lora.Name}: {unmatched.Count} of {lora.File.Modules.Count} modules match no tensor of the model, e.g. '{unmatched[0]}' " +
                    "(a LoRA for another architecture, or tensors left out by --include/--exclude)");
            }
        }
        return new LoraTargets(byTensor);
    }

    /// <summary>The most memory one tensor's factors take in float64 while it is patched.</summary>
    public long PeakFactorBytes() =>
        byTensor.Values.Select(p => p.Sum(x => (x.Module.OutFeatures + x.Module.RowLength) * x.Module.Rank * 8L)).DefaultIfEmpty(0).Max();

    /// <summary>The combined update of one tensor, ready to evaluate, or null when no LoRA patches it.</summary>
    public LoraDelta? DeltaFor(string tensorName)
    {
        IReadOnlyList<LoraPatch> patches = For(tensorName);
        if (patches.Count == 0)
        {
            return null;
        }
        (Matrix up, Matrix down) = LoraAlgebra.Combine(patches);
        return new LoraDelta(up, down);
    }
}
