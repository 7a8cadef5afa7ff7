using Dsoup.Engine.Checkpoints;
using Dsoup.Models.Architecture;
using Dsoup.Models.Conversion;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Synthetic;

/// <summary>What to generate: family, layout, storage dtype, seeds, and optional EMA copies.</summary>
public sealed record SyntheticOptions(
    ModelFamily Family,
    CheckpointLayout Layout = CheckpointLayout.Original,
    StorageType Type = StorageType.F16,
    ulong BaseSeed = 1,
    ulong VariantSeed = 0,
    float Perturbation = 0f,
    bool WithEma = false,
    IReadOnlyList<ModelComponent>? Components = null,
    bool TrainableInit = false);

/// <summary>Writes a checkpoint with a real family's exact tensor names and shapes and synthetic values.</summary>
public static class SyntheticCheckpoint
{
    public static void Write(string path, SyntheticOptions options)
    {
        IReadOnlyList<ModelTensor> tensors = options.Family.Tensors(options.Type, options.Components);
        var producer = new SyntheticValues(options.BaseSeed, options.VariantSeed, options.Perturbation, trainable: options.TrainableInit);
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["dsoup.synthetic"] = $"family={options.Family.Name} base={options.BaseSeed} variant={options.VariantSeed} perturbation={options.Perturbation}",
        };
        if (options.Layout == CheckpointLayout.Diffusers)
        {
            PlanWriter.Write(path, LayoutPlanner.DiffusersFile(tensors), p => p.Type, metadata, producer);
            return;
        }
        var plan = LayoutPlanner.Original(tensors, options.Family.TextEncoderKind).ToList();
        if (options.WithEma)
        {
            plan.AddRange(EmaCopies(tensors));
        }
        PlanWriter.Write(path, plan, p => p.Type, metadata, producer);
    }

    /// <summary>
    /// A size-only stand-in for benchmarks: square "unet.block_N.weight" tensors of 4096×4096 elements
    /// (the last one shorter) adding up to <paramref name="bytes"/>, in diffusers naming.
    /// </summary>
    public static void WriteFlat(string path, long bytes, StorageType type, ulong baseSeed, ulong variantSeed, float perturbation)
    {
        long elements = bytes / (type.Bits() / 8);
        const long Side = 4096;
        var tensors = new List<ModelTensor>();
        for (int i = 0; elements > 0; i++)
        {
            long rows = Math.Min(Side, (elements + Side - 1) / Side);
            long count = Math.Min(elements, rows * Side);
            long[] shape = count == rows * Side ? [rows, Side] : [count];
            tensors.Add(new ModelTensor($"unet.block_{i}.weight", ModelComponent.Unet, $"block_{i}.weight", type, shape, []));
            elements -= count;
        }
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["dsoup.synthetic"] = $"flat {bytes} bytes base={baseSeed} variant={variantSeed}" };
        // Component-prefixed names, so the file reads back as a (size-only) UNet.
        PlanWriter.Write(path, tensors.Select(t => new PlannedTensor(t.Name, t.Shape, [t])).ToList(), p => p.Type, metadata,
            new SyntheticValues(baseSeed, variantSeed, perturbation));
    }

    /// <summary>LitEma-style copies of the UNet tensors ("model_ema." + key without dots), with values of their own.</summary>
    private static IEnumerable<PlannedTensor> EmaCopies(IReadOnlyList<ModelTensor> tensors) =>
        tensors.Where(t => t.Component == ModelComponent.Unet).Select(t =>
        {
            string name = EmaSelection.Prefix + ("diffusion_model." + KeyMaps.Unet.ToOriginal(t.Key)!.Value.Key).Replace(".", "", StringComparison.Ordinal);
            return new PlannedTensor(name, t.Shape, [t with { Name = name, Component = null, Key = name }]);
        });
}
