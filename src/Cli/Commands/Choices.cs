using System.CommandLine;
using Dsoup.Engine.Checkpoints;
using Dsoup.Models.Layouts;

namespace Dsoup.Cli.Commands;

/// <summary>Options several commands share, with their accepted values.</summary>
internal static class Choices
{
    public static Option<string?> Layout(string description)
    {
        var option = new Option<string?>("--layout") { Description = description };
        option.AcceptOnlyFromAmong("original", "diffusers");
        return option;
    }

    public static Option<string?> DType(string description)
    {
        var option = new Option<string?>("--dtype") { Description = description };
        option.AcceptOnlyFromAmong("f32", "f16", "bf16");
        return option;
    }

    /// <summary>--tokenizer: a CLIP tokenizer folder; without it a model folder's own, else CLIP's vocabulary built into dsoup.</summary>
    public static Option<string?> Tokenizer() => new("--tokenizer")
    {
        Description = "Folder with CLIP's vocab.json and merges.txt (default: a diffusers folder's tokenizer/, else CLIP's vocabulary built into dsoup: the same ids).",
    };

    public static Option<string> Ema(string description, string defaultValue)
    {
        var option = new Option<string>("--ema") { Description = description, DefaultValueFactory = _ => defaultValue };
        option.AcceptOnlyFromAmong("use", "drop", "keep");
        return option;
    }

    public static CheckpointLayout? ParseLayout(string? text) => text switch
    {
        null => null,
        "original" => CheckpointLayout.Original,
        _ => CheckpointLayout.Diffusers,
    };

    public static EmaPolicy ParseEma(string text) => text switch
    {
        "use" => EmaPolicy.Use,
        "drop" => EmaPolicy.Drop,
        _ => EmaPolicy.Keep,
    };

    public static StorageType StorageOf(string text) => StorageTypes.FromComputeType(Kernels.DTypeInfo.Parse(text));
}
