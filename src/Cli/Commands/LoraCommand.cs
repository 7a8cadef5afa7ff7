using System.CommandLine;
using System.Globalization;
using Dsoup.Models.Lora;
using Dsoup.Models.Soup;

namespace Dsoup.Cli.Commands;

/// <summary>dsoup lora apply (LoRA into a checkpoint, streaming) and dsoup lora merge (LoRAs into one LoRA).</summary>
internal static class LoraCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("lora",
            "Apply LoRAs into a checkpoint, or merge LoRAs into one. The update of a module is always ΔW = strength·(α/r)·B·A; " +
            "A's and B's are never summed separately (that adds cross terms). kohya (lora_unet_…, lora_down/lora_up/alpha) and " +
            "PEFT/diffusers (unet.….lora_A/lora_B) files are read; PEFT files without α keys mean α = r.");
        command.Subcommands.Add(Apply(context));
        command.Subcommands.Add(Merge(context));
        return command;
    }

    private static Command Apply(CliContext context)
    {
        var model = new Argument<string>("model") { Description = "The checkpoint to patch (any form dsoup inspect reads)." };
        var loras = new Argument<string[]>("loras") { Arity = ArgumentArity.OneOrMore, Description = "LoRA files, each FILE or FILE:STRENGTH (default strength 1)." };
        var output = new Option<string?>("--output", "-o") { Description = "The patched checkpoint to write (.safetensors), in the model's layout." };
        var dtype = Choices.DType("Output dtype of floating-point tensors (default: the model's).");
        var maxMemory = new Option<string?>("--max-memory") { Description = "Memory for buffers and LoRA factors (default 256MiB)." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Check that every LoRA module finds its tensor, from headers only; write nothing." };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace the output if it exists." };
        var command = new Command("apply",
            "Stream a checkpoint through, adding each LoRA's update to the tensor it targets (W + Σ strength·(α/r)·B·A, float64, rounded once). " +
            "Every module must match a tensor of the model with the right shape, or nothing is written.")
        {
            model, loras, output, dtype, maxMemory, dryRun, overwrite,
        };
        command.SetAction(result => context.Run(() =>
        {
            var options = new SoupOptions
            {
                DType = result.GetValue(dtype) is string d ? Kernels.DTypeInfo.Parse(d) : null,
                MaxMemory = Units.ParseSize(result.GetValue(maxMemory) ?? "256MiB"),
                Ema = Models.Layouts.EmaPolicy.Keep,
            };
            var job = new SoupCommand.SoupJob([new SoupRecipeFile.Input(result.GetValue(model)!)], options, null, null, result.GetValue(loras)!,
                result.GetValue(output), null, result.GetValue(dryRun), false, result.GetValue(overwrite));
            return SoupCommand.Execute(context, result, job);
        }));
        return command;
    }

    private static Command Merge(CliContext context)
    {
        var loras = new Argument<string[]>("loras") { Arity = ArgumentArity.OneOrMore, Description = "LoRA files, each FILE or FILE:WEIGHT (default weight 1)." };
        var output = new Option<string>("--output", "-o") { Description = "The merged LoRA to write (.safetensors).", Required = true };
        var method = new Option<string>("--method") { Description = "concat: exact, rank = Σ rᵢ (default); svd: best approximation at --rank, dropped energy reported.", DefaultValueFactory = _ => "concat" };
        method.AcceptOnlyFromAmong("concat", "svd");
        var rank = new Option<int?>("--rank") { Description = "svd: the rank of the merged LoRA." };
        var dtype = Choices.DType("Output dtype of the factors (default: the first input's).");
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace the output if it exists." };
        var command = new Command("merge",
            "Merge LoRAs into one LoRA whose update is Σ wᵢ·(αᵢ/rᵢ)·Bᵢ·Aᵢ: exactly by rank concatenation, or reduced to --rank by an SVD " +
            "(computed from QR factors, never the dense update), reporting the fraction of ‖ΔW‖² it drops.")
        {
            loras, output, method, rank, dtype, overwrite,
        };
        command.SetAction(result => context.Run(() =>
        {
            var opened = new List<SoupLora>();
            try
            {
                foreach (string spec in result.GetValue(loras)!)
                {
                    (string file, double weight) = SoupLora.ParseSpec(spec);
                    opened.Add(new SoupLora(LoraFile.Open(file), weight));
                }
                var options = new LoraMergeOptions(
                    result.GetValue(method) == "svd" ? LoraMergeMethod.Svd : LoraMergeMethod.Concat,
                    result.GetValue(rank) ?? 0,
                    result.GetValue(dtype) is string d ? Choices.StorageOf(d) : null,
                    result.GetValue(overwrite));
                string path = result.GetValue(output)!;
                ByteProgress progress = context.Progress("lora merge", opened.Sum(l => l.File.Modules.Sum(m => m.Down.ByteLength + m.Up.ByteLength)));
                LoraMergeResult merged = LoraMerge.Run(opened, path, options, progress);
                progress.Finish();
                var ranks = merged.Modules.Select(m => m.OutputRank).Distinct().Order().ToList();
                context.Output.WriteLine($"wrote {path}: {merged.Modules.Count} modules, rank {string.Join("/", ranks)} ({result.GetValue(method)})");
                if (options.Method == LoraMergeMethod.Svd)
                {
                    LoraModuleReport? worst = merged.Worst;
                    string worstText = worst is null
                        ? ""
                        : string.Create(CultureInfo.InvariantCulture, $"; worst module {worst.Module}: {worst.DroppedEnergy / worst.Energy:P3} (rank {worst.InputRank} → {worst.OutputRank})");
                    context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  dropped energy: {merged.DroppedFraction:P3} of Σ‖ΔW‖²_F over all modules{worstText}"));
                }
                return 0;
            }
            finally
            {
                foreach (SoupLora lora in opened)
                {
                    lora.File.Dispose();
                }
            }
        }));
        return command;
    }
}
