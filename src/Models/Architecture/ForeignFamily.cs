using System.Text.RegularExpressions;
using Dsoup.Engine.Checkpoints;

namespace Dsoup.Models.Architecture;

/// <summary>
/// An architecture users merge that dsoup cannot run (yet), recognised from its tensor names so that
/// <c>dsoup inspect</c> names it and soups take its tensors exactly as they are.
/// </summary>
public sealed record ForeignFamily(string Name, string DisplayName);

/// <summary>
/// Key patterns of the families users bring besides SD 1.x/2.x: SDXL base and refiner (original and
/// diffusers naming, told apart by the width of the UNet's added-condition embedding: 2816 inputs for
/// the base, 2560 for the refiner), SD3, Flux, and Hugging Face transformers checkpoints.
/// </summary>
public static partial class ForeignFamilies
{
    public static readonly ForeignFamily SdxlBase = new("sdxl-base", "SDXL base");
    public static readonly ForeignFamily SdxlRefiner = new("sdxl-refiner", "SDXL refiner");
    public static readonly ForeignFamily Sd3 = new("sd3", "SD3 (MMDiT)");
    public static readonly ForeignFamily Flux = new("flux", "Flux");
    public static readonly ForeignFamily DecoderLm = new("transformers-decoder", "Hugging Face transformers decoder (Llama/Mistral/Qwen-style)");
    public static readonly ForeignFamily Gpt2 = new("transformers-gpt2", "Hugging Face transformers GPT-2-style decoder");
    public static readonly ForeignFamily EncoderDecoder = new("transformers-seq2seq", "Hugging Face transformers encoder-decoder (BART/T5/Whisper-style)");
    public static readonly ForeignFamily Encoder = new("transformers-encoder", "Hugging Face transformers encoder (BERT/RoBERTa/ViT-style)");

    /// <summary>The family the tensor names point to, or null for SD 1.x/2.x and for names no pattern knows.</summary>
    public static ForeignFamily? Identify(IReadOnlyList<TensorEntry> tensors)
    {
        if (Sdxl(tensors) is ForeignFamily sdxl)
        {
            return sdxl;
        }
        if (tensors.Any(t => FluxKey().IsMatch(t.Name)))
        {
            return Flux;
        }
        bool Has(string suffix) => tensors.Any(t => t.Name.EndsWith(suffix, StringComparison.Ordinal));
        if (tensors.Any(t => Sd3Key().IsMatch(t.Name)) || (Has("context_embedder.weight") && Has("pos_embed.proj.weight")))
        {
            return Sd3;
        }
        // Transformer checkpoints, in priority order (a T5 has encoder blocks too): after the diffusion
        // families, whose names never take these forms.
        (Regex Key, ForeignFamily Family)[] transformers = [(DecoderKey(), DecoderLm), (Gpt2Key(), Gpt2), (Seq2SeqKey(), EncoderDecoder), (EncoderKey(), Encoder)];
        return transformers.Where(p => tensors.Any(t => p.Key.IsMatch(t.Name))).Select(p => p.Family).FirstOrDefault();
    }

    private static ForeignFamily? Sdxl(IReadOnlyList<TensorEntry> tensors)
    {
        foreach (TensorEntry t in tensors)
        {
            bool embedding = t.Name.EndsWith("label_emb.0.0.weight", StringComparison.Ordinal)
                || t.Name.EndsWith("add_embedding.linear_1.weight", StringComparison.Ordinal);
            if (embedding && t.Shape.Length == 2)
            {
                switch (t.Shape[1])
                {
                    case 2816:
                        return SdxlBase;
                    case 2560:
                        return SdxlRefiner;
                }
            }
            if (t.Name.StartsWith("conditioner.embedders.", StringComparison.Ordinal))
            {
                return tensors.Any(x => x.Name.StartsWith("conditioner.embedders.1.", StringComparison.Ordinal)) ? SdxlBase : SdxlRefiner;
            }
        }
        return null;
    }

    // SD3: "joint_blocks.N.context_block" (original); diffusers' SD3 has "context_embedder" and "pos_embed.proj", Flux "x_embedder" instead.
    [GeneratedRegex(@"(^|\.)joint_blocks\.\d+\.(context|x)_block\.")]
    private static partial Regex Sd3Key();

    // Flux: "double_blocks.N.img_attn" / "single_blocks.N.linear1" (original), "single_transformer_blocks.N" (diffusers).
    [GeneratedRegex(@"(^|\.)(double_blocks\.\d+\.img_attn\.|single_blocks\.\d+\.linear1\.|single_transformer_blocks\.\d+\.)")]
    private static partial Regex FluxKey();

    [GeneratedRegex(@"^(model\.)?layers\.\d+\.(self_attn|mlp)\.")]
    private static partial Regex DecoderKey();

    [GeneratedRegex(@"^(transformer\.)?h\.\d+\.(attn|mlp)\.c_")]
    private static partial Regex Gpt2Key();

    [GeneratedRegex(@"^(model\.)?(decoder\.layers\.\d+\.(self_attn|encoder_attn)\.|decoder\.block\.\d+\.layer\.)")]
    private static partial Regex Seq2SeqKey();

    [GeneratedRegex(@"^([a-z_]+\.)?(encoder\.layer\.\d+\.attention\.|encoder\.block\.\d+\.layer\.)")]
    private static partial Regex EncoderKey();
}
