using System.CommandLine;
using Dsoup.Models.Architecture;
using Dsoup.Models.Layouts;
using Dsoup.Models.Synthetic;

namespace Dsoup.Cli.Commands;

internal static class SynthesizeCommand
{
    public static Command Create(CliContext context)
    {
        var output = new Argument<string>("output") { Description = "The .safetensors file to write." };
        var family = new Option<string>("--family")
        {
            Description = "Architecture: sd15, sd15-inpainting, sd21, tiny or tiny-inpainting; or flat (equal square tensors adding up to --size, for benchmarks).",
            DefaultValueFactory = _ => "tiny",
        };
        family.AcceptOnlyFromAmong([.. ModelFamily.All.Select(f => f.Name), "flat"]);
        var size = new Option<string?>("--size") { Description = "With --family flat: the total tensor bytes, e.g. 1GiB." };
        var layout = Choices.Layout("Tensor naming: original (default) or diffusers.");
        var dtype = Choices.DType("Storage type of every tensor (default f16).");
        var seed = new Option<ulong>("--seed") { Description = "Seed of the base weights.", DefaultValueFactory = _ => 1 };
        var variant = new Option<ulong>("--variant") { Description = "Seed of this checkpoint's deviation from the base (a stand-in for a fine-tune).", DefaultValueFactory = _ => 0 };
        var perturbation = new Option<float>("--perturbation") { Description = "Size of the deviation relative to the weights (e.g. 0.05).", DefaultValueFactory = _ => 0f };
        var ema = new Option<bool>("--ema") { Description = "Add LDM-style EMA copies of the UNet (original layout only)." };
        var trainable = new Option<bool>("--trainable") { Description = "Values to train from scratch (PyTorch's initialisation: norm weights 1, biases 0, weights ±1/√fan_in) instead of small uniform noise." };
        var loraFor = new Option<string?>("--lora-for") { Description = "Write a LoRA for this model instead of a checkpoint (attention, conv1 and text-encoder q/v projections)." };
        var rank = new Option<int>("--rank") { Description = "With --lora-for: the LoRA rank.", DefaultValueFactory = _ => 4 };
        var alpha = new Option<double?>("--alpha") { Description = "With --lora-for: α (default: the rank, i.e. scale 1)." };
        var convention = new Option<string>("--convention") { Description = "With --lora-for: kohya (lora_unet_…) or peft (unet.….lora_A).", DefaultValueFactory = _ => "kohya" };
        convention.AcceptOnlyFromAmong("kohya", "peft");
        var command = new Command("synthesize",
            "Write a checkpoint with a real architecture's exact tensor names and shapes and deterministic synthetic values (for tests, benchmarks and demos).")
        {
            output, family, layout, dtype, seed, variant, perturbation, ema, trainable, size, loraFor, rank, alpha, convention,
        };
        command.SetAction(result => context.Run(() =>
        {
            if (result.GetValue(loraFor) is string target)
            {
                using var model = Models.Layouts.ModelCheckpoint.Open(target);
                int r = result.GetValue(rank);
                var style = result.GetValue(convention) == "peft" ? Models.Lora.LoraConvention.Peft : Models.Lora.LoraConvention.Kohya;
                Models.Synthetic.SyntheticLora.Write(result.GetValue(output)!, model, r, style, result.GetValue(seed) ^ result.GetValue(variant),
                    Choices.StorageOf(result.GetValue(dtype) ?? "f16"), result.GetValue(alpha) ?? r);
                context.Output.WriteLine($"wrote {result.GetValue(output)} (LoRA for {target}, rank {r}, {result.GetValue(convention)})");
                return 0;
            }
            if (result.GetValue(family) == "flat")
            {
                string text = result.GetValue(size) ?? throw new ArgumentException("--family flat needs --size (e.g. --size 1GiB)");
                SyntheticCheckpoint.WriteFlat(result.GetValue(output)!, Units.ParseSize(text), Choices.StorageOf(result.GetValue(dtype) ?? "f16"),
                    result.GetValue(seed), result.GetValue(variant), result.GetValue(perturbation));
                context.Output.WriteLine($"wrote {result.GetValue(output)} (flat, {text})");
                return 0;
            }
            var options = new SyntheticOptions(
                ModelFamily.Parse(result.GetValue(family)!),
                Choices.ParseLayout(result.GetValue(layout)) ?? CheckpointLayout.Original,
                Choices.StorageOf(result.GetValue(dtype) ?? "f16"),
                result.GetValue(seed), result.GetValue(variant), result.GetValue(perturbation), result.GetValue(ema), TrainableInit: result.GetValue(trainable));
            if (options.WithEma && options.Layout != CheckpointLayout.Original)
            {
                throw new ArgumentException("--ema needs --layout original: diffusers files keep EMA weights in a separate model");
            }
            SyntheticCheckpoint.Write(result.GetValue(output)!, options);
            context.Output.WriteLine($"wrote {result.GetValue(output)} ({options.Family.Name}, {options.Layout.ToString().ToLowerInvariant()}, {options.Type})");
            return 0;
        }));
        return command;
    }
}
