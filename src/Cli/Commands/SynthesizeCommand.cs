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
        var family = new Option<string>("--family") { Description = "Architecture: sd15, sd15-inpainting, sd21 or tiny.", DefaultValueFactory = _ => "tiny" };
        family.AcceptOnlyFromAmong("sd15", "sd15-inpainting", "sd21", "tiny");
        var layout = Choices.Layout("Tensor naming: original (default) or diffusers.");
        var dtype = Choices.DType("Storage type of every tensor (default f16).");
        var seed = new Option<ulong>("--seed") { Description = "Seed of the base weights.", DefaultValueFactory = _ => 1 };
        var variant = new Option<ulong>("--variant") { Description = "Seed of this checkpoint's deviation from the base (a stand-in for a fine-tune).", DefaultValueFactory = _ => 0 };
        var perturbation = new Option<float>("--perturbation") { Description = "Size of the deviation relative to the weights (e.g. 0.05).", DefaultValueFactory = _ => 0f };
        var ema = new Option<bool>("--ema") { Description = "Add LDM-style EMA copies of the UNet (original layout only)." };
        var command = new Command("synthesize",
            "Write a checkpoint with a real architecture's exact tensor names and shapes and deterministic synthetic values (for tests, benchmarks and demos).")
        {
            output, family, layout, dtype, seed, variant, perturbation, ema,
        };
        command.SetAction(result => context.Run(() =>
        {
            var options = new SyntheticOptions(
                ModelFamily.Parse(result.GetValue(family)!),
                Choices.ParseLayout(result.GetValue(layout)) ?? CheckpointLayout.Original,
                Choices.StorageOf(result.GetValue(dtype) ?? "f16"),
                result.GetValue(seed), result.GetValue(variant), result.GetValue(perturbation), result.GetValue(ema));
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
