using System.Text.Json.Nodes;
using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Engine.Linalg;
using Dsoup.Kernels.Cpu.Merge;
using Dsoup.Models.Soup;

namespace Dsoup.Models.Lora;

public enum LoraMergeMethod
{
    /// <summary>Rank concatenation: exact, rank Σ rᵢ.</summary>
    Concat,

    /// <summary>Best rank-r approximation of the summed update (SVD), with the dropped energy reported.</summary>
    Svd,
}

public sealed record LoraMergeOptions(LoraMergeMethod Method, int Rank = 0, StorageType? DType = null, bool Overwrite = false);

/// <summary>What one merged module became: its rank, ‖ΔW‖²_F, and the part of it a rank reduction dropped.</summary>
public sealed record LoraModuleReport(string Module, int InputRank, int OutputRank, double Energy, double DroppedEnergy);

public sealed record LoraMergeResult(IReadOnlyList<LoraModuleReport> Modules)
{
    public double Energy => Modules.Sum(m => m.Energy);

    public double DroppedEnergy => Modules.Sum(m => m.DroppedEnergy);

    /// <summary>Σ dropped / Σ energy over all modules: the relative squared Frobenius error of the whole update.</summary>
    public double DroppedFraction => Energy == 0 ? 0 : DroppedEnergy / Energy;

    public LoraModuleReport? Worst => Modules.Where(m => m.Energy > 0).MaxBy(m => m.DroppedEnergy / m.Energy);
}

/// <summary>
/// Merges LoRAs into one LoRA, module by module: ΔW = Σ wᵢ (αᵢ/rᵢ) Bᵢ Aᵢ either kept exactly by rank
/// concatenation or reduced to a target rank by SVD. Modules only some inputs have are merged from those.
/// The output is written in the inputs' convention (kohya when they differ), α = rank (scale 1), exact
/// header first, to a temporary file renamed at the end.
/// </summary>
public static class LoraMerge
{
    public static LoraMergeResult Run(IReadOnlyList<SoupLora> inputs, string outputPath, LoraMergeOptions options, IProgress<long>? progress = null)
    {
        if (inputs.Count == 0)
        {
            throw new ArgumentException("name the LoRAs to merge");
        }
        if (options.Method == LoraMergeMethod.Svd && options.Rank <= 0)
        {
            throw new ArgumentException("an SVD merge needs a target rank (--rank)");
        }
        if (!options.Overwrite && File.Exists(outputPath))
        {
            throw new IOException($"{outputPath} already exists; pass --overwrite to replace it");
        }
        LoraConvention convention = inputs.All(i => i.File.Convention == LoraConvention.Peft) ? LoraConvention.Peft : LoraConvention.Kohya;
        var groups = Group(inputs);
        var plans = groups.Select(g => Plan(g, options, convention)).ToList();
        var headers = plans.SelectMany(p => p.Headers).ToList();
        var metadata = Metadata(inputs, options, convention);
        using var writer = SafetensorsWriter.Create(outputPath, headers, metadata);
        var reports = new List<LoraModuleReport>();
        // Modules are reduced in parallel, a window at a time (bounding memory: the biggest take ~100 MB
        // each while factorised), and written in order.
        int window = Math.Clamp(Environment.ProcessorCount, 1, 4);
        for (int first = 0; first < plans.Count; first += window)
        {
            ModulePlan[] batch = plans.Skip(first).Take(window).ToArray();
            var reduced = new LowRankFactors[batch.Length];
            AllCores.For(batch.Length, b => reduced[b] = Reduce(batch[b], options.Method));
            for (int b = 0; b < batch.Length; b++)
            {
                ModulePlan plan = batch[b];
                WriteFactor(writer, plan.Headers[0], reduced[b].Down);
                WriteFactor(writer, plan.Headers[1], reduced[b].Up);
                if (plan.Headers.Count > 2)
                {
                    WriteFactor(writer, plan.Headers[2], new Matrix(1, 1, [plan.OutputRank]));
                }
                reports.Add(new LoraModuleReport(plan.Name, plan.InputRank, plan.OutputRank, reduced[b].Energy, reduced[b].DroppedEnergy));
                progress?.Report(plan.Patches.Sum(p => p.Module.Down.ByteLength + p.Module.Up.ByteLength));
            }
        }
        writer.Commit();
        return new LoraMergeResult(reports);
    }

    /// <summary>A module's merged factors: all ranks side by side, or their best rank-r approximation.</summary>
    private static LowRankFactors Reduce(ModulePlan plan, LoraMergeMethod method)
    {
        (Matrix up, Matrix down) = LoraAlgebra.Combine(plan.Patches);
        return method == LoraMergeMethod.Svd
            ? LoraAlgebra.Truncate(up, down, plan.OutputRank)
            : new LowRankFactors(up, down, LoraAlgebra.Energy(up, down), 0);
    }

    private sealed record ModulePlan(string Name, IReadOnlyList<LoraPatch> Patches, int InputRank, int OutputRank, IReadOnlyList<TensorHeader> Headers);

    private static List<List<LoraPatch>> Group(IReadOnlyList<SoupLora> inputs)
    {
        var groups = new SortedDictionary<string, List<LoraPatch>>(StringComparer.Ordinal);
        foreach (SoupLora lora in inputs)
        {
            foreach (LoraModule module in lora.File.Modules)
            {
                if (!groups.TryGetValue(module.Id, out var list))
                {
                    groups[module.Id] = list = [];
                }
                LoraModule first = list.Count > 0 ? list[0].Module : module;
                if (first.OutFeatures != module.OutFeatures || !first.Down.Shape.Skip(1).SequenceEqual(module.Down.Shape.Skip(1)))
                {
                    throw new InvalidDataException($"module '{module.Id}' has down {module.Down.ShapeText} / up {module.Up.ShapeText} in {lora.Name} " +
                        $"but down {first.Down.ShapeText} / up {first.Up.ShapeText} in {list[0].LoraName}: the LoRAs target different layers");
                }
                list.Add(new LoraPatch(module, lora.Strength, lora.Name));
            }
        }
        return [.. groups.Values];
    }

    private static ModulePlan Plan(List<LoraPatch> patches, LoraMergeOptions options, LoraConvention convention)
    {
        LoraModule first = patches[0].Module;
        int inputRank = patches.Sum(p => p.Module.Rank);
        int outputRank = options.Method == LoraMergeMethod.Concat
            ? inputRank
            : (int)Math.Min(Math.Min(options.Rank, inputRank), Math.Min(first.OutFeatures, first.RowLength));
        StorageType type = options.DType ?? first.Down.Type;
        string name = convention == LoraConvention.Peft ? first.Module : first.Id;
        long[] downShape = [outputRank, .. first.Down.Shape.Skip(1)];
        long[] upShape = [first.OutFeatures, outputRank, .. first.Up.Shape.Skip(2)];
        var headers = new List<TensorHeader>
        {
            new(LoraKeys.TensorName(name, LoraRole.Down, convention), type, downShape),
            new(LoraKeys.TensorName(name, LoraRole.Up, convention), type, upShape),
        };
        if (convention == LoraConvention.Kohya)
        {
            headers.Add(new TensorHeader(LoraKeys.TensorName(name, LoraRole.Alpha, convention), StorageType.F32, []));
        }
        return new ModulePlan(name, patches, inputRank, outputRank, headers);
    }

    private static void WriteFactor(SafetensorsWriter writer, TensorHeader header, Matrix values)
    {
        // Rounding is monotonic: the largest magnitude overflows first.
        double largest = values.Values.Length == 0 ? 0 : values.Values.Max(Math.Abs);
        if (!double.IsFinite(CorrectRounding.Round(largest, ValueDecoder.FormatOf(header.Type))))
        {
            throw new InvalidDataException($"'{header.Name}' overflows {header.Type.Name()}; write the merge as f32 (--dtype f32)");
        }
        var bytes = new byte[header.ByteLength];
        ValueDecoder.EncodeNearest(header.Type, values.Values, bytes);
        writer.Write(bytes);
    }

    private static SortedDictionary<string, string> Metadata(IReadOnlyList<SoupLora> inputs, LoraMergeOptions options, LoraConvention convention)
    {
        var recipe = new JsonObject
        {
            ["method"] = options.Method == LoraMergeMethod.Concat ? "concat" : "svd",
            ["formula"] = "sum_i w_i * (alpha_i / r_i) * B_i A_i",
            ["inputs"] = new JsonArray(inputs.Select(i => (JsonNode)new JsonObject { ["name"] = i.Name, ["weight"] = i.Strength, ["hash"] = i.File.Hash }).ToArray()),
            ["engine"] = EngineVersion.Text,
        };
        if (options.Method == LoraMergeMethod.Svd)
        {
            recipe["rank"] = options.Rank;
        }
        var metadata = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = "pt",
            ["dsoup.lora_merge"] = recipe.ToJsonString(),
            ["dsoup.version"] = EngineVersion.Text,
            ["dsoup.lora_convention"] = convention.ToString().ToLowerInvariant(),
        };
        return metadata;
    }
}
