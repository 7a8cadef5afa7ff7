namespace Dsoup.Models.Layouts;

/// <summary>
/// A diffusers tensor as a share of an original-layout tensor: part <see cref="Part"/> of
/// <see cref="Parts"/> equal slices along the first axis (1 of 1 for a plain rename). OpenCLIP packs
/// q, k and v into one in_proj tensor, which is the only case with several parts.
/// </summary>
public readonly record struct KeyPart(string Key, int Part, int Parts);

/// <summary>Renames one component's tensors between the original (LDM) layout and diffusers.</summary>
public interface IComponentKeyMap
{
    ModelComponent Component { get; }

    /// <summary>The prefix every original-layout key of this component carries, e.g. "model.diffusion_model.".</summary>
    string OriginalPrefix { get; }

    /// <summary>The diffusers tensors an original key (without prefix) holds, or null when the key is not part of the model.</summary>
    IReadOnlyList<KeyPart>? ToDiffusers(string originalKey);

    /// <summary>Where a diffusers key lives in the original layout (key without prefix), or null when it has no place there.</summary>
    KeyPart? ToOriginal(string diffusersKey);

    /// <summary>The original shape of a diffusers tensor (they differ only for the VAE's 1×1-conv attention weights).</summary>
    long[] OriginalShape(string diffusersKey, long[] diffusersShape) => diffusersShape;

    /// <summary>The diffusers shape of an original tensor part.</summary>
    long[] DiffusersShape(string originalKey, long[] originalShape) => originalShape;
}
