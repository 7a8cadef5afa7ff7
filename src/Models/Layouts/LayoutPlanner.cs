using Dsoup.Engine.Checkpoints;

namespace Dsoup.Models.Layouts;

/// <summary>An output tensor: its name and shape in the target layout, and the canonical tensors whose bytes it concatenates.</summary>
public sealed record PlannedTensor(string Name, long[] Shape, IReadOnlyList<ModelTensor> Parts)
{
    public StorageType Type => Parts[0].Type;

    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);
}

/// <summary>One output file of a plan, at a path relative to the output (empty for a single-file output).</summary>
public sealed record PlannedFile(string RelativePath, IReadOnlyList<PlannedTensor> Tensors);

/// <summary>
/// Names canonical tensors for a target layout. Original: component keys through the key maps
/// (OpenCLIP's q/k/v parts packed back into in_proj), extras under their own names. Diffusers: one
/// file per component in a folder (plus <see cref="ModelCheckpoint.ExtrasFileName"/>), or one file with
/// component-prefixed names (unprefixed when it holds exactly one component and nothing else).
/// </summary>
public static class LayoutPlanner
{
    public static IReadOnlyList<PlannedTensor> Original(IReadOnlyList<ModelTensor> tensors, TextEncoderKind textEncoder)
    {
        var planned = new List<(string Name, long[] Shape, ModelTensor?[] Parts)>();
        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (ModelTensor t in tensors)
        {
            IComponentKeyMap? map = t.Component is ModelComponent c ? KeyMaps.For(c, textEncoder) : null;
            KeyPart? part = map?.ToOriginal(t.Key);
            if (map is null || part is null)
            {
                planned.Add((t.Name, t.Shape, [t]));
                continue;
            }
            string name = map.OriginalPrefix + part.Value.Key;
            if (!byName.TryGetValue(name, out int index))
            {
                long[] shape = map.OriginalShape(t.Key, t.Shape);
                if (part.Value.Parts > 1)
                {
                    shape = [shape[0] * part.Value.Parts, .. shape[1..]];
                }
                index = planned.Count;
                byName[name] = index;
                planned.Add((name, shape, new ModelTensor?[part.Value.Parts]));
            }
            planned[index].Parts[part.Value.Part] = t;
        }
        return planned.Select(p => Assemble(p.Name, p.Shape, p.Parts)).ToList();
    }

    public static IReadOnlyList<PlannedTensor> DiffusersFile(IReadOnlyList<ModelTensor> tensors)
    {
        bool oneComponent = tensors.All(t => t.Component is not null) && tensors.Select(t => t.Component).Distinct().Count() == 1;
        return tensors.Select(t => new PlannedTensor(oneComponent ? t.Key : t.Name, t.Shape, [t])).ToList();
    }

    public static IReadOnlyList<PlannedFile> DiffusersFolder(IReadOnlyList<ModelTensor> tensors)
    {
        var files = new List<PlannedFile>();
        foreach (ModelComponent component in ModelComponents.All)
        {
            var own = tensors.Where(t => t.Component == component).Select(t => new PlannedTensor(t.Key, t.Shape, [t])).ToList();
            if (own.Count > 0)
            {
                files.Add(new PlannedFile(Path.Combine(component.FolderName(), component.WeightsFileName()), own));
            }
        }
        var extras = tensors.Where(t => t.Component is null).Select(t => new PlannedTensor(t.Name, t.Shape, [t])).ToList();
        if (extras.Count > 0)
        {
            files.Add(new PlannedFile(ModelCheckpoint.ExtrasFileName, extras));
        }
        return files;
    }

    private static PlannedTensor Assemble(string name, long[] shape, ModelTensor?[] parts)
    {
        int missing = Array.FindIndex(parts, p => p is null);
        if (missing >= 0)
        {
            throw new InvalidDataException($"cannot assemble '{name}': part {missing + 1} of {parts.Length} is missing " +
                $"(have {string.Join(", ", parts.Where(p => p is not null).Select(p => p!.Name))})");
        }
        if (parts.Select(p => p!.Type).Distinct().Count() > 1)
        {
            throw new InvalidDataException($"cannot assemble '{name}': its parts have different dtypes");
        }
        return new PlannedTensor(name, shape, parts!);
    }
}
