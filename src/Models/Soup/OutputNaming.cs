using Dsoup.Engine.Checkpoints;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Soup;

/// <summary>
/// Names a soup's output tensors. By default a soup keeps the first input's names exactly: each output
/// tensor is a stored tensor of that file, assembled from the canonical tensors read out of it (one, or
/// the q/k/v parts of a packed projection). Tensors the first input lacks (taken from a fallback), and
/// soups of a diffusers folder, are named by the layout planner in the first input's layout; an
/// explicit <c>--layout</c> names everything that way.
/// </summary>
internal static class OutputNaming
{
    public static IReadOnlyList<PlannedTensor> Plan(IReadOnlyList<MergedTensor> merged, ModelCheckpoint first, CheckpointLayout? layout, TextEncoderKind textEncoder)
    {
        if (layout is not null || first.IsFolder)
        {
            return ByLayout(merged, layout ?? first.Layout, textEncoder);
        }
        var byEntry = new Dictionary<TensorEntry, List<(long Offset, MergedTensor Tensor)>>(ReferenceEqualityComparer.Instance);
        var order = new List<TensorEntry>();
        var rest = new List<MergedTensor>();
        foreach (MergedTensor m in merged)
        {
            // The first input's own tensor, before any EMA substitution: its stored name is the output's.
            ModelTensor? stored = m.Inputs[0] is null ? null : first.Find(m.Name);
            if (stored is not { Pieces.Count: 1 })
            {
                rest.Add(m);
                continue;
            }
            TensorPiece piece = stored.Pieces[0];
            if (!byEntry.TryGetValue(piece.Source, out var parts))
            {
                byEntry[piece.Source] = parts = [];
                order.Add(piece.Source);
            }
            parts.Add((piece.Offset, m));
        }
        var output = new List<PlannedTensor>();
        foreach (TensorEntry entry in order)
        {
            var parts = byEntry[entry].OrderBy(p => p.Offset).Select(p => p.Tensor).ToList();
            long covered = parts.Sum(p => p.ElementCount);
            if (covered != entry.ElementCount)
            {
                throw new InvalidDataException($"cannot write '{entry.Name}' under its own name: only {parts.Count} of its parts are merged " +
                    $"({string.Join(", ", parts.Select(p => p.Name))}); merge all of them or pick an output --layout");
            }
            output.Add(new PlannedTensor(entry.Name, entry.Shape, parts.Select(Canonical).ToList()));
        }
        output.AddRange(ByLayout(rest, first.Layout, textEncoder));
        string? repeated = output.GroupBy(p => p.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1)?.Key;
        if (repeated is not null)
        {
            throw new InvalidDataException($"two output tensors would be named '{repeated}' (one kept from the first input, one named for tensors it lacks); pick an output --layout");
        }
        return output.OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>The output file's tensors, sorted by name, for canonical tensors written in <paramref name="layout"/>.</summary>
    public static IReadOnlyList<PlannedTensor> ByLayout(IEnumerable<MergedTensor> tensors, CheckpointLayout layout, TextEncoderKind textEncoder)
    {
        var canonical = tensors.Select(Canonical).ToList();
        var plan = layout == CheckpointLayout.Original ? LayoutPlanner.Original(canonical, textEncoder) : LayoutPlanner.DiffusersFile(canonical);
        return plan.OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>A merged tensor as the output holds it: canonical name, output dtype, no source bytes.</summary>
    private static ModelTensor Canonical(MergedTensor m) => new(m.Name, ComponentOf(m.Name), KeyOf(m.Name), m.OutputType, m.Shape, []);

    private static ModelComponent? ComponentOf(string canonicalName) =>
        ModelComponents.All.Cast<ModelComponent?>().FirstOrDefault(c => canonicalName.StartsWith(c!.Value.FolderName() + ".", StringComparison.Ordinal));

    private static string KeyOf(string canonicalName) =>
        ComponentOf(canonicalName) is ModelComponent c ? canonicalName[(c.FolderName().Length + 1)..] : canonicalName;
}
