using System.CommandLine;
using Dsoup.Models.Conversion;
using Dsoup.Models.Layouts;

namespace Dsoup.Cli.Commands;

internal static class ConvertCommand
{
    public static Command Create(CliContext context)
    {
        var input = new Argument<string>("input") { Description = "The checkpoint to convert (any form dsoup inspect reads)." };
        var output = new Argument<string>("output") { Description = "Where to write: a .safetensors file, or a folder for a diffusers pipeline." };
        var layout = Choices.Layout("Tensor naming of the output: original (single-file LDM) or diffusers. Default: the input's.");
        var dtype = Choices.DType("Store floating-point tensors as f32, f16 or bf16 (round to nearest even). Default: keep each tensor's type.");
        var ema = Choices.Ema("EMA weights (model_ema.*): keep them, drop them, or use them as the UNet's weights.", "keep");
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace the output if it exists." };
        var command = new Command("convert",
            "Rewrite a checkpoint in another layout or dtype, streaming in bounded memory. Original → diffusers → original gives back every tensor bit for bit.")
        {
            input, output, layout, dtype, ema, overwrite,
        };
        command.SetAction(result => context.Run(() =>
        {
            using ModelCheckpoint checkpoint = ModelCheckpoint.Open(result.GetValue(input)!);
            var options = new ConversionOptions(
                Choices.ParseLayout(result.GetValue(layout)),
                result.GetValue(dtype) is string d ? Kernels.DTypeInfo.Parse(d) : null,
                Choices.ParseEma(result.GetValue(ema)!),
                result.GetValue(overwrite));
            ByteProgress progress = context.Progress("convert", checkpoint.Tensors.Sum(t => t.ByteLength));
            string target = result.GetValue(output)!;
            CheckpointConverter.Convert(checkpoint, target, options, progress);
            progress.Finish();
            context.Output.WriteLine($"wrote {target} ({(options.Layout ?? checkpoint.Layout).ToString().ToLowerInvariant()} layout) " +
                $"at {Units.Bytes((long)progress.BytesPerSecond)}/s read");
            return 0;
        }));
        return command;
    }
}
