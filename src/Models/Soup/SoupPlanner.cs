using Dsoup.Engine.Checkpoints;
using Dsoup.Models.Layouts;
using Dsoup.Models.Lora;

namespace Dsoup.Models.Soup;

/// <summary>
/// Plans a soup from headers only: applies the EMA policy and name filters, matches every input's
/// tensors by canonical name (so layouts may differ), checks shapes, the base and the key policy, and
/// records every conflict instead of stopping at the first, so a dry run shows them all.
/// </summary>
public static class SoupPlanner
{
    private const int Examples = 3;

    public static SoupPlan Plan(IReadOnlyList<SoupIngredient> inputs, SoupIngredient? baseModel, SoupIngredient? fallback, SoupOptions options,
        IReadOnlyList<SoupLora>? loras = null)
    {
        var conflicts = new List<string>();
        var notes = new List<string>();
        IReadOnlyList<double> weights = CheckArguments(inputs, baseModel, fallback, options, conflicts);

        Dictionary<string, ModelTensor>[] sets = inputs.Select(i => Select(i, options)).ToArray();
        Dictionary<string, ModelTensor>? baseSet = baseModel is null ? null : Select(baseModel, options);
        Dictionary<string, ModelTensor>? fallbackSet = fallback is null ? null : Select(fallback, options);

        var allNames = sets.SelectMany(s => s.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var shared = allNames.Where(n => sets.All(s => s.ContainsKey(n))).ToList();
        var partial = allNames.Where(n => !sets.All(s => s.ContainsKey(n))).ToList();
        var reports = new List<IngredientReport>();
        for (int i = 0; i < inputs.Count; i++)
        {
            var onlyHere = sets[i].Keys.Where(n => sets.Where((_, j) => j != i).Any(s => !s.ContainsKey(n))).ToList();
            var missing = partial.Where(n => !sets[i].ContainsKey(n)).ToList();
            reports.Add(Report(inputs[i], "input", sets[i], onlyHere.Count, missing.Count));
            if (options.KeyPolicy == KeyPolicy.Strict && missing.Count > 0)
            {
                conflicts.Add($"{inputs[i].Name} lacks {missing.Count} tensors other inputs have, e.g. {Sample(missing)} (use --keys intersection or union)");
            }
        }
        if (baseModel is not null)
        {
            reports.Add(Report(baseModel, "base", baseSet!, 0, 0));
        }
        if (fallback is not null)
        {
            reports.Add(Report(fallback, "fallback", fallbackSet!, 0, 0));
        }

        var names = options.KeyPolicy switch
        {
            KeyPolicy.Union => allNames,
            _ => shared,
        };
        var merged = new List<MergedTensor>();
        int copied = 0;
        foreach (string name in names)
        {
            ModelTensor?[] sources = sets.Select(s => s.GetValueOrDefault(name)).ToArray();
            ModelTensor reference = sources.First(s => s is not null)!;
            string? shapeConflict = ShapeConflict(name, inputs, sources);
            if (shapeConflict is not null)
            {
                conflicts.Add(shapeConflict);
                continue;
            }
            ModelTensor? fromFallback = fallbackSet?.GetValueOrDefault(name);
            if (sources.Any(s => s is null))
            {
                if (fromFallback is null || !fromFallback.Shape.SequenceEqual(reference.Shape))
                {
                    conflicts.Add(fallback is null
                        ? $"'{name}' is missing from some inputs and --keys union needs a --fallback model to take it from"
                        : $"'{name}' is missing from some inputs and the fallback {(fromFallback is null ? "lacks it too" : $"has shape {fromFallback.ShapeText}, not {reference.ShapeText}")}");
                    continue;
                }
                copied++;
            }
            ModelTensor? fromBase = baseSet?.GetValueOrDefault(name);
            if (baseModel is not null && reference.Type.IsFloatingPoint() && (fromBase is null || !fromBase.Shape.SequenceEqual(reference.Shape)))
            {
                conflicts.Add(fromBase is null
                    ? $"'{name}' is not in the base model {baseModel.Name}"
                    : $"'{name}' has shape {fromBase.ShapeText} in the base model, {reference.ShapeText} in the inputs");
                continue;
            }
            if (!reference.Type.IsFloatingPoint())
            {
                copied++;
            }
            StorageType outputType = options.DType is Kernels.DType d && reference.Type.IsFloatingPoint() ? StorageTypes.FromComputeType(d) : reference.Type;
            merged.Add(new MergedTensor(name, reference.Shape, outputType, sources, fromBase, fromFallback));
        }
        if (options.KeyPolicy == KeyPolicy.Intersection && partial.Count > 0)
        {
            notes.Add($"{partial.Count} tensors not held by every input are left out (--keys intersection), e.g. {Sample(partial)}");
        }
        var dtypeMix = merged.Where(m => m.Inputs.Where(i => i is not null).Select(i => i!.Type).Distinct().Count() > 1).ToList();
        if (dtypeMix.Count > 0)
        {
            notes.Add($"{dtypeMix.Count} tensors come in different dtypes across inputs (each is read exactly; the output takes the first input's dtype unless --dtype)");
        }
        if (merged.Count == 0 && conflicts.Count == 0)
        {
            conflicts.Add("no tensors are left to merge (check --include/--exclude and --keys)");
        }
        int leftOut = allNames.Count - merged.Count;
        AddNotes(inputs, options, notes);

        // Names: the first input's, unless --layout asks for another layout.
        CheckpointLayout layout = options.Layout ?? inputs[0].Checkpoint.Layout;
        if (options.Layout is null && inputs.Select(i => i.Checkpoint.Layout).Distinct().Count() > 1)
        {
            notes.Add($"inputs come in different layouts; they are matched by canonical name and written under the first input's names ({layout.ToString().ToLowerInvariant()})");
        }
        if (inputs.Any(i => i.Checkpoint.Layout == CheckpointLayout.Plain))
        {
            string family = inputs.Select(i => i.Checkpoint.Foreign?.DisplayName).FirstOrDefault(f => f is not null) is string f ? $" ({f})" : "";
            notes.Add($"tensor names match no Stable Diffusion layout{family}: the files are taken as they are and merged tensor by tensor under the same names");
        }
        TextEncoderKind textEncoder = inputs.Select(i => i.Checkpoint.TextEncoder).FirstOrDefault(k => k != TextEncoderKind.None);
        IReadOnlyList<PlannedTensor> output = PlanOutput(merged, inputs[0].Checkpoint, options.Layout, textEncoder, conflicts);

        LoraTargets? targets = null;
        if (loras is { Count: > 0 })
        {
            targets = LoraTargets.Resolve(loras, merged.Where(m => !m.IsCopied).Select(m => (m.Name, m.Shape)), conflicts);
            notes.Add($"{loras.Count} LoRA{(loras.Count == 1 ? "" : "s")} patch {targets.PatchedTensors} tensors ({targets.Modules} modules): " +
                "W = soup + Σ strength·(α/r)·B·A, computed in float64 and rounded once");
        }
        var plan = new SoupPlan(options, inputs, baseModel, fallback, merged, output, layout, CommonMetadata(inputs.Select(i => i.Checkpoint.Metadata)), weights,
            null!) { LoraInputs = loras ?? [], Loras = targets };
        var (chunk, peak) = SoupMemory.Budget(plan);
        long read = merged.Sum(m => m.IsCopied ? m.CopySource.ByteLength : m.Inputs.Sum(i => i!.ByteLength) + (m.Base?.ByteLength ?? 0))
            * (options.Method == SoupMethod.Ties ? 2 : 1);
        long write = output.Sum(p => p.Parts.Sum(part => plan.Merged(part.Name).ElementCount * (plan.Merged(part.Name).OutputType.Bits() / 8)));
        if (options.Method == SoupMethod.Ties)
        {
            notes.Add("TIES reads each task vector twice or more on the CPU: once (or a few times, for huge tensors) to find its magnitude threshold, once to merge; on a GPU (--device) once");
        }
        var report = new SoupPlanReport(options.Method.Name(), layout.ToString().ToLowerInvariant(), merged.Count - copied, copied, leftOut,
            reports, conflicts, notes, read, write, chunk, peak);
        return plan with { Report = report };
    }

    /// <summary>Metadata entries every input carries with the same value: the soup keeps them, whatever the input order.</summary>
    public static Dictionary<string, string> CommonMetadata(IEnumerable<IReadOnlyDictionary<string, string>> metadata)
    {
        Dictionary<string, string>? common = null;
        foreach (var m in metadata)
        {
            common = common is null
                ? new Dictionary<string, string>(SoupRecipe.OwnMetadata(m), StringComparer.Ordinal)
                : common.Where(e => m.TryGetValue(e.Key, out string? v) && v == e.Value).ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
        }
        return common ?? [];
    }

    private static IReadOnlyList<double> CheckArguments(IReadOnlyList<SoupIngredient> inputs, SoupIngredient? baseModel, SoupIngredient? fallback,
        SoupOptions options, List<string> conflicts)
    {
        if (inputs.Count == 0)
        {
            throw new ArgumentException("a soup needs at least one input");
        }
        SoupMethod method = options.Method;
        if (options.Weights is not null && options.Weights.Count != inputs.Count)
        {
            throw new ArgumentException($"{options.Weights.Count} weights given for {inputs.Count} inputs; give one weight per input");
        }
        if (options.Weights is not null && method == SoupMethod.Uniform)
        {
            throw new ArgumentException("the uniform method takes no weights; use --method weighted");
        }
        if (options.Weights is not null && options.Weights.Any(w => !double.IsFinite(w)))
        {
            throw new ArgumentException("weights must be finite numbers");
        }
        IReadOnlyList<double> weights = options.Weights ?? Enumerable.Repeat(1.0, inputs.Count).ToList();
        if (method == SoupMethod.Weighted && weights.Sum() == 0)
        {
            throw new ArgumentException("the weights sum to 0; a weighted average needs a non-zero total");
        }
        if (method.NeedsBase() && baseModel is null)
        {
            throw new ArgumentException($"--method {method.Name()} needs --base (the model the inputs were fine-tuned from)");
        }
        if (!method.NeedsBase() && baseModel is not null)
        {
            throw new ArgumentException($"--method {method.Name()} does not use a base model; drop --base or pick task-arithmetic, ties or dare");
        }
        if (method == SoupMethod.AddDifference && inputs.Count != 3)
        {
            throw new ArgumentException($"add-difference computes A + α(B − C) from exactly 3 inputs; got {inputs.Count}");
        }
        if (method == SoupMethod.Dare && options.DropRate is < 0 or >= 1)
        {
            throw new ArgumentException($"--drop-rate must lie in [0, 1); got {options.DropRate}");
        }
        if (method == SoupMethod.Ties && options.Density is <= 0 or > 1)
        {
            throw new ArgumentException($"--density must lie in (0, 1]; got {options.Density}");
        }
        if (options.KeyPolicy != KeyPolicy.Union && fallback is not null)
        {
            throw new ArgumentException("--fallback only applies with --keys union");
        }
        if (options.MaxMemory < 16L << 20)
        {
            throw new ArgumentException($"--max-memory {options.MaxMemory} bytes is too small; allow at least 16 MiB");
        }
        return weights;
    }

    private static Dictionary<string, ModelTensor> Select(SoupIngredient ingredient, SoupOptions options) =>
        EmaSelection.Apply(ingredient.Checkpoint.Tensors, options.Ema, ingredient.Path)
            .Where(t => options.Filter.Keeps(t.Name))
            .ToDictionary(t => t.Name, StringComparer.Ordinal);

    private static string? ShapeConflict(string name, IReadOnlyList<SoupIngredient> inputs, ModelTensor?[] sources)
    {
        var distinct = sources.Select((s, i) => (s, i)).Where(x => x.s is not null).GroupBy(x => x.s!.ShapeText).ToList();
        if (distinct.Count < 2)
        {
            return null;
        }
        return $"'{name}' has different shapes: " + string.Join(", ", distinct.Select(g => $"{g.Key} in {string.Join(", ", g.Select(x => inputs[x.i].Name))}"));
    }

    private static IReadOnlyList<PlannedTensor> PlanOutput(List<MergedTensor> merged, ModelCheckpoint first, CheckpointLayout? layout, TextEncoderKind textEncoder,
        List<string> conflicts)
    {
        try
        {
            return OutputNaming.Plan(merged, first, layout, textEncoder);
        }
        catch (InvalidDataException ex)
        {
            conflicts.Add(ex.Message);
            return [];
        }
    }

    private static IngredientReport Report(SoupIngredient ingredient, string role, Dictionary<string, ModelTensor> set, int onlyHere, int missing) =>
        new(ingredient.Name, ingredient.Path, role, ingredient.Checkpoint.Layout.ToString().ToLowerInvariant(), set.Count,
            set.Values.Sum(t => t.ByteLength), set.Values.GroupBy(t => t.Type.Name()).ToDictionary(g => g.Key, g => g.Count()),
            EmaSelection.Count(ingredient.Checkpoint.Tensors), onlyHere, missing);

    private static void AddNotes(IReadOnlyList<SoupIngredient> inputs, SoupOptions options, List<string> notes)
    {
        int withEma = inputs.Count(i => EmaSelection.Count(i.Checkpoint.Tensors) > 0);
        if (withEma > 0)
        {
            notes.Add(options.Ema == EmaPolicy.Use
                ? $"{withEma} inputs carry EMA weights; they are used in place of the UNet weights (--ema use)"
                : $"{withEma} inputs carry EMA weights; they are left out (--ema drop; --ema use merges them instead of the raw weights)");
        }
    }

    private static string Sample(IEnumerable<string> names) => string.Join(", ", names.Take(Examples).Select(n => $"'{n}'"));
}
