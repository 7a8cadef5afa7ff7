using Dsoup.Engine.Checkpoints;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Conversion;

/// <summary>
/// Rewrites a checkpoint in another layout and/or dtype, streaming tensor by tensor in bounded
/// memory. Metadata is kept and extended with what was done. Outputs appear atomically: files through
/// a ".partial" file, folders through a ".partial" folder, renamed when complete.
/// </summary>
public static class CheckpointConverter
{
    public static void Convert(ModelCheckpoint input, string output, ConversionOptions options, IProgress<long>? progress = null)
    {
        if (input.Layout == CheckpointLayout.Plain && options.Layout is CheckpointLayout asked)
        {
            throw new ArgumentException($"{input.Source}: its tensor names match no Stable Diffusion layout, so there is no {asked.ToString().ToLowerInvariant()} layout " +
                "to convert it to; drop --layout (convert still changes --dtype and keeps every name)");
        }
        CheckpointLayout layout = options.Layout ?? input.Layout;
        IReadOnlyList<ModelTensor> tensors = EmaSelection.Apply(input.Tensors, options.Ema, input.Source);
        bool folder = layout == CheckpointLayout.Diffusers && !output.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase);
        if (layout == CheckpointLayout.Original && !output.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"{output}: an original-layout checkpoint is one file; give a path ending in .safetensors");
        }
        if (!options.Overwrite && (File.Exists(output) || Directory.Exists(output)))
        {
            throw new IOException($"{output} already exists; pass --overwrite to replace it");
        }
        var metadata = new Dictionary<string, string>(input.Metadata, StringComparer.Ordinal)
        {
            ["format"] = input.Metadata.GetValueOrDefault("format", "pt"),
            ["dsoup.converted_from"] = Path.GetFileName(Path.TrimEndingDirectorySeparator(input.Source)),
            ["dsoup.layout"] = layout.ToString().ToLowerInvariant(),
            ["dsoup.version"] = EngineVersion.Text,
        };
        StorageType TypeOf(PlannedTensor p) => options.DType is Kernels.DType d && p.Type.IsFloatingPoint() ? StorageTypes.FromComputeType(d) : p.Type;
        var producer = new ConvertingCopy(progress);

        if (!folder)
        {
            IReadOnlyList<PlannedTensor> plan = layout == CheckpointLayout.Original
                ? LayoutPlanner.Original(tensors, input.TextEncoder)
                : LayoutPlanner.DiffusersFile(tensors);
            PlanWriter.Write(output, plan, TypeOf, metadata, producer);
            return;
        }
        string staging = Path.TrimEndingDirectorySeparator(output) + ".partial";
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }
        try
        {
            foreach (PlannedFile file in LayoutPlanner.DiffusersFolder(tensors))
            {
                PlanWriter.Write(Path.Combine(staging, file.RelativePath), file.Tensors, TypeOf, metadata, producer);
            }
            DiffusersConfigs.Write(staging, tensors, Inspection.Inspector.Identify(input), input.IsFolder ? input.Source : null);
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
            Directory.Move(staging, output);
        }
        catch
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
            throw;
        }
    }
}
