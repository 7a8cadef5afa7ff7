using Dsoup.Engine.Checkpoints;
using Dsoup.Models.Architecture;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Inspection;

/// <summary>
/// Builds a <see cref="CheckpointReport"/>: the family (see <see cref="Identify"/>), variant (inpainting from 9 UNet input channels, instruct-pix2pix from 8),
/// EMA presence, and every deviation from the expected tensor list. With <c>scanValues</c> it also
/// reads every floating-point tensor looking for NaN and infinity.
/// </summary>
public static class Inspector
{
    private const int Examples = 3;

    private static readonly HashSet<string> KnownBuffers = new(StringComparer.Ordinal)
    {
        "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
        "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod",
        "posterior_variance", "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2",
        "model_ema.decay", "model_ema.num_updates", "cond_stage_model.model.logit_scale", "cond_stage_model.model.text_projection",
        "logvar",
    };

    public static CheckpointReport Inspect(ModelCheckpoint checkpoint, bool scanValues = false)
    {
        var suspicious = new List<string>();
        IReadOnlyList<ModelTensor> tensors = checkpoint.Tensors;
        ModelFamily? family = Identify(checkpoint);
        long inChannels = checkpoint.Find("unet.conv_in.weight")?.Shape.ElementAtOrDefault(1) ?? 4;
        string? variant = inChannels switch
        {
            9 => "inpainting (9 input channels)",
            8 => "instruct-pix2pix (8 input channels)",
            4 => null,
            _ => $"{inChannels} input channels",
        };

        var components = new List<ComponentReport>();
        foreach (ModelComponent component in checkpoint.Components)
        {
            var own = tensors.Where(t => t.Component == component).ToList();
            string? architecture = family is null ? null : $"{family.DisplayName} {component.FolderName()}";
            int missing = 0, unexpected = 0, mismatched = 0;
            if (family is not null)
            {
                var wanted = family.Specs(component).ToDictionary(s => s.Name, s => s.Shape, StringComparer.Ordinal);
                var found = own.ToDictionary(t => t.Key, StringComparer.Ordinal);
                var missingNames = wanted.Keys.Where(k => !found.ContainsKey(k)).ToList();
                var unexpectedNames = found.Keys.Where(k => !wanted.ContainsKey(k)).ToList();
                var mismatchedNames = found.Where(f => wanted.TryGetValue(f.Key, out long[]? shape) && !shape.SequenceEqual(f.Value.Shape)).Select(f => f.Key).ToList();
                (missing, unexpected, mismatched) = (missingNames.Count, unexpectedNames.Count, mismatchedNames.Count);
                Note(suspicious, missingNames, $"{component.FolderName()}: {missing} tensors of the {architecture} are missing");
                Note(suspicious, unexpectedNames, $"{component.FolderName()}: {unexpected} tensors are not part of the {architecture}");
                Note(suspicious, mismatchedNames, $"{component.FolderName()}: {mismatched} tensors have other shapes than in the {architecture}");
            }
            var dtypes = own.GroupBy(t => t.Type.Name()).ToDictionary(g => g.Key, g => g.Count());
            if (dtypes.Count > 1)
            {
                suspicious.Add($"{component.FolderName()}: mixed dtypes ({string.Join(", ", dtypes.Select(d => $"{d.Value}×{d.Key}"))})");
            }
            components.Add(new ComponentReport(component.FolderName(), own.Count, own.Sum(t => t.ElementCount), dtypes, architecture, missing, unexpected, mismatched));
        }

        var extras = checkpoint.Extras.ToList();
        var positionIds = extras.FirstOrDefault(t => t.Name.EndsWith("position_ids", StringComparison.Ordinal));
        if (positionIds is not null && positionIds.Type.IsFloatingPoint())
        {
            suspicious.Add($"'{positionIds.Name}' is stored as {positionIds.Type.Name()}; merged checkpoints often corrupt it (dsoup always uses 0..76)");
        }
        var unknown = extras.Where(t => !EmaSelection.IsEma(t) && !KnownBuffers.Contains(t.Name) && !KnownBuffers.Contains(t.Name.Split('.')[^1])
            && !t.Name.EndsWith("position_ids", StringComparison.Ordinal) && !t.Name.StartsWith("cond_stage_model.model.transformer.resblocks.23.", StringComparison.Ordinal)).ToList();
        // A plain checkpoint is not a damaged SD one: its tensors are merged by name, not judged.
        if (checkpoint.Layout != CheckpointLayout.Plain)
        {
            Note(suspicious, unknown.Select(t => t.Name).ToList(), $"{unknown.Count} tensors belong to no component dsoup knows");
            if (!checkpoint.Components.Any())
            {
                suspicious.Add("no UNet, VAE or text encoder tensors were recognised");
            }
        }
        if (scanValues)
        {
            foreach (ModelTensor t in tensors.Where(t => t.Type.IsFloatingPoint()))
            {
                long bad = ValueScanner.CountNonFinite(t);
                if (bad > 0)
                {
                    suspicious.Add($"'{t.Name}' holds {bad} NaN or infinite values");
                }
            }
        }

        long? textWidth = checkpoint.Find("text_encoder.text_model.embeddings.token_embedding.weight")?.Shape.ElementAtOrDefault(1);
        string text = textWidth switch
        {
            null => "none",
            768 => "CLIP ViT-L/14",
            1024 => "OpenCLIP ViT-H/14",
            _ => $"CLIP-style text encoder, {textWidth} wide",
        };
        return new CheckpointReport(checkpoint.Source, checkpoint.Formats, checkpoint.Layout.ToString().ToLowerInvariant(),
            FamilyName(checkpoint, family), variant, text, components, EmaSelection.Count(tensors), extras.Count, tensors.Sum(t => t.ByteLength),
            checkpoint.Metadata, suspicious);
    }

    private static string FamilyName(ModelCheckpoint checkpoint, ModelFamily? family) =>
        family?.DisplayName
        ?? (checkpoint.Foreign is ForeignFamily foreign ? $"{foreign.DisplayName} (merged by tensor name; dsoup does not sample it)" : null)
        ?? (checkpoint.Layout == CheckpointLayout.Plain ? "unknown (no Stable Diffusion names: merged by tensor name)" : "unknown");

    /// <summary>
    /// The known family whose components match the most of this checkpoint's components exactly (names and
    /// shapes); failing that, the SD version the UNet's cross-attention width or the text encoder points to.
    /// </summary>
    public static ModelFamily? Identify(ModelCheckpoint checkpoint)
    {
        var present = checkpoint.Components.ToList();
        (ModelFamily Family, int Matches) best = ModelFamily.All
            .Select(f => (f, present.Count(c => Matches(f.Specs(c), checkpoint.Tensors.Where(t => t.Component == c)))))
            .MaxBy(x => x.Item2);
        if (best.Matches > 0)
        {
            return best.Family;
        }
        long? cross = checkpoint.Find("unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight")?.Shape[^1];
        long inChannels = checkpoint.Find("unet.conv_in.weight")?.Shape.ElementAtOrDefault(1) ?? 4;
        return (cross, checkpoint.TextEncoder) switch
        {
            (768, _) or (null, TextEncoderKind.ClipL) when checkpoint.Find("text_encoder.text_model.embeddings.token_embedding.weight")?.Shape[^1] is null or 768
                => inChannels == 9 ? ModelFamily.Sd15Inpainting : ModelFamily.Sd15,
            (1024, _) or (null, TextEncoderKind.OpenClipH) => ModelFamily.Sd21,
            _ => null,
        };
    }

    private static bool Matches(IReadOnlyList<ParameterSpec> specs, IEnumerable<ModelTensor> tensors)
    {
        var found = tensors.ToDictionary(t => t.Key, t => t.Shape, StringComparer.Ordinal);
        return found.Count == specs.Count && specs.All(s => found.TryGetValue(s.Name, out long[]? shape) && shape.SequenceEqual(s.Shape));
    }

    private static void Note(List<string> suspicious, IReadOnlyList<string> names, string summary)
    {
        if (names.Count > 0)
        {
            suspicious.Add($"{summary}, e.g. {string.Join(", ", names.Take(Examples).Select(n => $"'{n}'"))}");
        }
    }
}
