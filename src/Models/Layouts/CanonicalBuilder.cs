using Dsoup.Engine.Checkpoints;

namespace Dsoup.Models.Layouts;

/// <summary>Turns source tensors of either layout into canonical <see cref="ModelTensor"/>s, refusing two tensors with one name.</summary>
internal sealed class CanonicalBuilder(string source)
{
    private static readonly (string Prefix, ModelComponent Component)[] DiffusersPrefixes =
    [
        ("unet.", ModelComponent.Unet), ("vae.", ModelComponent.Vae), ("text_encoder.", ModelComponent.TextEncoder),
    ];

    private readonly List<ModelTensor> tensors = [];
    private readonly HashSet<string> names = new(StringComparer.Ordinal);

    public IReadOnlyList<ModelTensor> Tensors => tensors;

    /// <summary>True for names like "unet.conv_in.weight" in a component-prefixed diffusers file.</summary>
    public static bool HasComponentPrefix(string name) => DiffusersPrefixes.Any(p => name.StartsWith(p.Prefix, StringComparison.Ordinal));

    public void AddOriginal(IEnumerable<TensorEntry> entries)
    {
        foreach (TensorEntry entry in entries)
        {
            IComponentKeyMap? map = KeyMaps.ForOriginalKey(entry.Name);
            string local = map is null ? entry.Name : entry.Name[map.OriginalPrefix.Length..];
            IReadOnlyList<KeyPart>? parts = map?.ToDiffusers(local);
            if (map is null || parts is null)
            {
                AddExtra(entry);
                continue;
            }
            long[] shape = map.DiffusersShape(local, entry.Shape);
            foreach (KeyPart part in parts)
            {
                if (part.Parts > 1 && (shape.Length == 0 || shape[0] % part.Parts != 0))
                {
                    throw new CheckpointFormatException(source, "UnexpectedShape",
                        $"'{entry.Name}' {entry.ShapeText} cannot be split into {part.Parts} equal parts along its first axis");
                }
                long[] partShape = part.Parts == 1 ? shape : [shape[0] / part.Parts, .. shape[1..]];
                long length = entry.ByteLength / part.Parts;
                Add(new ModelTensor(ModelTensor.CanonicalName(map.Component, part.Key), map.Component, part.Key, entry.Type, partShape,
                    [new TensorPiece(entry, part.Part * length, length)]));
            }
        }
    }

    /// <summary>A diffusers-named file: component-prefixed keys, or the keys of one component.</summary>
    public void AddDiffusersFile(IReadOnlyList<TensorEntry> entries)
    {
        if (entries.Any(e => HasComponentPrefix(e.Name)))
        {
            foreach (TensorEntry entry in entries)
            {
                var match = DiffusersPrefixes.FirstOrDefault(p => entry.Name.StartsWith(p.Prefix, StringComparison.Ordinal));
                if (match.Prefix is null)
                {
                    AddExtra(entry);
                }
                else
                {
                    AddComponentTensor(match.Component, entry, entry.Name[match.Prefix.Length..]);
                }
            }
            return;
        }
        ModelComponent component = GuessComponent(entries)
            ?? throw new CheckpointFormatException(source, "UnknownModel",
                "the tensor names match no Stable Diffusion layout (original, diffusers UNet, VAE or text encoder)");
        AddComponent(component, entries);
    }

    /// <summary>True when <see cref="AddDiffusersFile"/> recognises the names: component-prefixed, or one component's.</summary>
    public static bool IsDiffusersFile(IReadOnlyList<TensorEntry> entries) =>
        entries.Any(e => HasComponentPrefix(e.Name)) || GuessComponent(entries) is not null;

    public void AddComponent(ModelComponent component, IEnumerable<TensorEntry> entries)
    {
        foreach (TensorEntry entry in entries)
        {
            AddComponentTensor(component, entry, entry.Name);
        }
    }

    public void AddExtras(IEnumerable<TensorEntry> entries)
    {
        foreach (TensorEntry entry in entries)
        {
            AddExtra(entry);
        }
    }

    private void AddComponentTensor(ModelComponent component, TensorEntry entry, string key)
    {
        key = component switch
        {
            ModelComponent.Vae => VaeKeyMap.Modernize(key),
            ModelComponent.TextEncoder => ClipKeyMap.Normalize(key),
            _ => key,
        };
        if (component == ModelComponent.TextEncoder && key.EndsWith("position_ids", StringComparison.Ordinal))
        {
            AddExtra(entry); // a buffer, not a weight: always arange(77)
            return;
        }
        Add(new ModelTensor(ModelTensor.CanonicalName(component, key), component, key, entry.Type, entry.Shape, [new TensorPiece(entry, 0, entry.ByteLength)]));
    }

    private void AddExtra(TensorEntry entry) =>
        Add(new ModelTensor(entry.Name, null, entry.Name, entry.Type, entry.Shape, [new TensorPiece(entry, 0, entry.ByteLength)]));

    private void Add(ModelTensor tensor)
    {
        if (!names.Add(tensor.Name))
        {
            throw new CheckpointFormatException(source, "DuplicateKey", $"two tensors map to '{tensor.Name}'");
        }
        tensors.Add(tensor);
    }

    private static ModelComponent? GuessComponent(IReadOnlyList<TensorEntry> entries)
    {
        bool Has(string name) => entries.Any(e => e.Name == name);
        if (Has("conv_in.weight") && entries.Any(e => e.Name.StartsWith("time_embedding.", StringComparison.Ordinal)))
        {
            return ModelComponent.Unet;
        }
        if (Has("encoder.conv_in.weight") || Has("decoder.conv_in.weight"))
        {
            return ModelComponent.Vae;
        }
        if (entries.Any(e => ClipKeyMap.Normalize(e.Name).StartsWith("text_model.", StringComparison.Ordinal)))
        {
            return ModelComponent.TextEncoder;
        }
        return null;
    }
}
