using Dsoup.Engine.Checkpoints;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Soup;

/// <summary>
/// One output tensor of a soup, in canonical naming: where each input's values come from (null where
/// the input lacks it under the union policy), the base's and the fallback's.
/// </summary>
public sealed record MergedTensor(string Name, long[] Shape, StorageType OutputType, ModelTensor?[] Inputs, ModelTensor? Base, ModelTensor? Fallback)
{
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);

    /// <summary>True when the value is copied (from the fallback, or an integer buffer from the first input) rather than merged.</summary>
    public bool IsCopied => Inputs.Any(i => i is null) || !Inputs[0]!.Type.IsFloatingPoint();

    public ModelTensor CopySource => Inputs.Any(i => i is null) ? Fallback! : Inputs[0]!;
}

/// <summary>How one ingredient relates to the merge, for the dry-run report.</summary>
public sealed record IngredientReport(
    string Name,
    string Path,
    string Role,
    string Layout,
    int Tensors,
    long Bytes,
    IReadOnlyDictionary<string, int> DTypes,
    int EmaTensors,
    int OnlyHere,
    int Missing);

/// <summary>What <c>dsoup soup --dry-run</c> prints: everything known from headers before any tensor data is read.</summary>
public sealed record SoupPlanReport(
    string Method,
    string Layout,
    int Merged,
    int Copied,
    int LeftOut,
    IReadOnlyList<IngredientReport> Ingredients,
    IReadOnlyList<string> Conflicts,
    IReadOnlyList<string> Notes,
    long BytesToRead,
    long BytesToWrite,
    long ChunkElements,
    long PeakMemory);

/// <summary>A soup ready to run: the merged tensors, the output file's names and order, and its metadata.</summary>
public sealed record SoupPlan(
    SoupOptions Options,
    IReadOnlyList<SoupIngredient> Inputs,
    SoupIngredient? Base,
    SoupIngredient? Fallback,
    IReadOnlyList<MergedTensor> Tensors,
    IReadOnlyList<PlannedTensor> Output,
    CheckpointLayout Layout,
    IReadOnlyDictionary<string, string> CommonMetadata,
    IReadOnlyList<double> Weights,
    SoupPlanReport Report)
{
    public MergedTensor Merged(string canonicalName) => byName.Value[canonicalName];

    /// <summary>LoRAs applied on top of the soup (W ← soup + Σ strength · ΔW), resolved to their tensors.</summary>
    public IReadOnlyList<Lora.SoupLora> LoraInputs { get; init; } = [];

    public Lora.LoraTargets? Loras { get; init; }

    /// <summary>
    /// True when the soup is summed exactly in fixed point (uniform or whole-number weights, no LoRA);
    /// otherwise each element is computed in float64 and rounded once.
    /// </summary>
    public bool UsesExactSums => (Loras?.PatchedTensors ?? 0) == 0
        && (Options.Method == SoupMethod.Uniform || (Options.Method == SoupMethod.Weighted && Weights.All(w => w > 0 && w == Math.Floor(w) && w <= int.MaxValue)));

    private readonly Lazy<Dictionary<string, MergedTensor>> byName = new(() => Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal));
}
