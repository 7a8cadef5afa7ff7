using System.Text.RegularExpressions;

namespace Dsoup.Models.Lora;

/// <summary>How a LoRA file names its modules.</summary>
public enum LoraConvention
{
    /// <summary>kohya sd-scripts: "lora_unet_down_blocks_0_…_to_q.lora_down.weight", ".lora_up.weight", ".alpha".</summary>
    Kohya,

    /// <summary>PEFT / diffusers: "unet.down_blocks.0.….to_q.lora_A.weight", ".lora_B.weight" (older diffusers: "….processor.to_q_lora.down.weight").</summary>
    Peft,
}

/// <summary>Which factor of a module a tensor holds.</summary>
public enum LoraRole
{
    /// <summary>A (kohya "lora_down"): r × in (× kh × kw).</summary>
    Down,

    /// <summary>B (kohya "lora_up"): out × r (× 1 × 1).</summary>
    Up,

    /// <summary>The module's α: ΔW = (α / r) · B · A.</summary>
    Alpha,
}

/// <summary>
/// LoRA key conventions. Every module gets a convention-neutral id, the kohya name ("lora_unet_…",
/// "lora_te_…"), because PEFT names map to it one way (dots become underscores) and a model's tensor
/// names map to it too; kohya names cannot be mapped back without the model, so the id is kohya's.
/// </summary>
public static partial class LoraKeys
{
    public const string UnetPrefix = "lora_unet_";

    public const string TextEncoderPrefix = "lora_te_";

    /// <summary>Splits a tensor name into module, role and convention; null for names that are not LoRA factors.</summary>
    public static (string Module, LoraRole Role, LoraConvention Convention)? Parse(string key)
    {
        Match kohya = KohyaKey().Match(key);
        if (kohya.Success)
        {
            LoraRole role = kohya.Groups["role"].Value switch { "lora_down.weight" => LoraRole.Down, "lora_up.weight" => LoraRole.Up, _ => LoraRole.Alpha };
            return (kohya.Groups["module"].Value, role, LoraConvention.Kohya);
        }
        Match peft = PeftKey().Match(key);
        if (peft.Success)
        {
            return (peft.Groups["module"].Value, peft.Groups["role"].Value == "A" ? LoraRole.Down : LoraRole.Up, LoraConvention.Peft);
        }
        Match peftAlpha = PeftAlpha().Match(key);
        if (peftAlpha.Success)
        {
            return (peftAlpha.Groups["module"].Value, LoraRole.Alpha, LoraConvention.Peft);
        }
        Match processor = ProcessorKey().Match(key);
        if (processor.Success)
        {
            string projection = processor.Groups["projection"].Value == "to_out" ? "to_out.0" : processor.Groups["projection"].Value;
            return ($"{processor.Groups["block"].Value}.{projection}", processor.Groups["role"].Value == "down" ? LoraRole.Down : LoraRole.Up, LoraConvention.Peft);
        }
        return null;
    }

    /// <summary>The convention-neutral id of a module as named in its file.</summary>
    public static string Id(string module, LoraConvention convention)
    {
        if (convention == LoraConvention.Kohya)
        {
            return module;
        }
        string path = module.StartsWith("base_model.model.", StringComparison.Ordinal) ? module["base_model.model.".Length..] : module;
        if (path.StartsWith("text_encoder.", StringComparison.Ordinal))
        {
            return TextEncoderPrefix + Underscored(path["text_encoder.".Length..]);
        }
        if (path.StartsWith("text_model.", StringComparison.Ordinal))
        {
            return TextEncoderPrefix + Underscored(path);
        }
        return UnetPrefix + Underscored(path.StartsWith("unet.", StringComparison.Ordinal) ? path["unet.".Length..] : path);
    }

    /// <summary>
    /// The module id that patches a model tensor ("unet.….weight", "text_encoder.….weight"), or null for
    /// tensors LoRAs do not patch. A tensor outside the SD components (a plain checkpoint's) gets the id its
    /// own path has in a PEFT file without a component prefix ("blocks.0.attn.q" → "lora_unet_blocks_0_attn_q"),
    /// so LoRAs made for any architecture patch it where their keys match.
    /// </summary>
    public static string? IdOfTensor(string canonicalName)
    {
        if (!canonicalName.EndsWith(".weight", StringComparison.Ordinal))
        {
            return null;
        }
        string module = canonicalName[..^".weight".Length];
        if (module.StartsWith("unet.", StringComparison.Ordinal))
        {
            return UnetPrefix + Underscored(module["unet.".Length..]);
        }
        if (module.StartsWith("vae.", StringComparison.Ordinal))
        {
            return null;
        }
        return module.StartsWith("text_encoder.", StringComparison.Ordinal) ? TextEncoderPrefix + Underscored(module["text_encoder.".Length..]) : UnetPrefix + Underscored(module);
    }

    /// <summary>The tensor name of a factor in a convention.</summary>
    public static string TensorName(string module, LoraRole role, LoraConvention convention) => (convention, role) switch
    {
        (LoraConvention.Kohya, LoraRole.Down) => module + ".lora_down.weight",
        (LoraConvention.Kohya, LoraRole.Up) => module + ".lora_up.weight",
        (LoraConvention.Peft, LoraRole.Down) => module + ".lora_A.weight",
        (LoraConvention.Peft, LoraRole.Up) => module + ".lora_B.weight",
        _ => module + ".alpha",
    };

    private static string Underscored(string path) => path.Replace('.', '_');

    [GeneratedRegex(@"^(?<module>lora_(?:unet|te\d?)_[A-Za-z0-9_]+)\.(?<role>lora_down\.weight|lora_up\.weight|alpha)$")]
    private static partial Regex KohyaKey();

    [GeneratedRegex(@"^(?<module>.+)\.lora_(?<role>A|B)(?:\.[A-Za-z0-9_]+)?\.weight$")]
    private static partial Regex PeftKey();

    [GeneratedRegex(@"^(?<module>(?:unet|text_encoder|base_model\.model)\..+)\.alpha$")]
    private static partial Regex PeftAlpha();

    [GeneratedRegex(@"^(?<block>.+)\.processor\.(?<projection>to_q|to_k|to_v|to_out)_lora\.(?<role>down|up)\.weight$")]
    private static partial Regex ProcessorKey();
}
