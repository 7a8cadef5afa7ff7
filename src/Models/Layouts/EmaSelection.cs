using Dsoup.Engine.Checkpoints;

namespace Dsoup.Models.Layouts;

/// <summary>What to do with the EMA copy of the UNet that full original-layout checkpoints carry.</summary>
public enum EmaPolicy
{
    /// <summary>Keep the EMA tensors alongside, as they are.</summary>
    Keep,

    /// <summary>Leave them out.</summary>
    Drop,

    /// <summary>Replace the UNet's weights with their EMA copies, then leave the copies out.</summary>
    Use,
}

/// <summary>
/// Applies an <see cref="EmaPolicy"/>. EMA tensors are named "model_ema." + the UNet's original key
/// after "model." with its dots removed ("model_ema.diffusion_modelinput_blocks00weight"), as LDM's
/// LitEma writes them; "model_ema.decay" and "model_ema.num_updates" are bookkeeping.
/// </summary>
public static class EmaSelection
{
    public const string Prefix = "model_ema.";

    public static bool IsEma(ModelTensor tensor) => tensor.Component is null && tensor.Name.StartsWith(Prefix, StringComparison.Ordinal);

    public static int Count(IEnumerable<ModelTensor> tensors) =>
        tensors.Count(t => IsEma(t) && t.Name is not "model_ema.decay" and not "model_ema.num_updates");

    public static IReadOnlyList<ModelTensor> Apply(IReadOnlyList<ModelTensor> tensors, EmaPolicy policy, string source)
    {
        if (policy == EmaPolicy.Keep)
        {
            return tensors;
        }
        var ema = tensors.Where(IsEma).ToDictionary(t => t.Name, StringComparer.Ordinal);
        if (policy == EmaPolicy.Use && Count(tensors) == 0)
        {
            throw new InvalidDataException($"{source}: --ema use, but the checkpoint holds no EMA weights (model_ema.*)");
        }
        var result = new List<ModelTensor>();
        foreach (ModelTensor t in tensors.Where(t => !IsEma(t)))
        {
            if (policy == EmaPolicy.Use && t.Component == ModelComponent.Unet && KeyMaps.Unet.ToOriginal(t.Key) is KeyPart part)
            {
                string name = Prefix + ("diffusion_model." + part.Key).Replace(".", "", StringComparison.Ordinal);
                if (!ema.TryGetValue(name, out ModelTensor? copy))
                {
                    throw new InvalidDataException($"{source}: --ema use, but '{t.Name}' has no EMA copy '{name}'");
                }
                if (!copy.Shape.SequenceEqual(t.Shape) || copy.Type != t.Type)
                {
                    throw new InvalidDataException($"{source}: EMA copy '{name}' ({copy.Type.Name()} {copy.ShapeText}) does not match '{t.Name}' ({t.Type.Name()} {t.ShapeText})");
                }
                result.Add(t with { Pieces = copy.Pieces });
                continue;
            }
            result.Add(t);
        }
        return result;
    }
}
