using Dsoup.Engine.Checkpoints;
using Dsoup.Models.Architecture;

namespace Dsoup.Models.Layouts;

/// <summary>
/// A Stable Diffusion checkpoint opened from any of the forms users bring: a single file in the
/// original layout, a single file in diffusers naming (one component, or component-prefixed), a
/// diffusers pipeline folder, or a single component's folder; safetensors, sharded or .ckpt. Its
/// tensors are presented in canonical naming (<see cref="ModelTensor"/>), in source order. A file whose
/// names match no Stable Diffusion layout opens in the plain layout: every tensor under its own name.
/// </summary>
public sealed class ModelCheckpoint : IDisposable
{
    /// <summary>File dsoup writes beside a diffusers folder for tensors with no place in a component, so conversions round-trip.</summary>
    public const string ExtrasFileName = "extras.safetensors";

    private readonly List<ICheckpointReader> readers;

    private ModelCheckpoint(string source, CheckpointLayout layout, bool isFolder, List<ICheckpointReader> readers,
        IReadOnlyList<ModelTensor> tensors, IReadOnlyDictionary<string, string> metadata, ForeignFamily? foreign)
    {
        Source = source;
        Foreign = foreign;
        Layout = layout;
        IsFolder = isFolder;
        this.readers = readers;
        Tensors = tensors;
        Metadata = metadata;
        TextEncoder = DetectTextEncoder(tensors);
        byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    private readonly Dictionary<string, ModelTensor> byName;

    public string Source { get; }

    /// <summary>The layout the checkpoint was stored in.</summary>
    public CheckpointLayout Layout { get; }

    public bool IsFolder { get; }

    public IReadOnlyList<ModelTensor> Tensors { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    public TextEncoderKind TextEncoder { get; }

    /// <summary>The architecture the names point to when it is not SD 1.x/2.x (SDXL, Flux, …); such files open in the plain layout.</summary>
    public ForeignFamily? Foreign { get; }

    public IReadOnlyList<string> Formats => readers.Select(r => r.Format).Distinct().ToList();

    public IEnumerable<ModelComponent> Components => ModelComponents.All.Where(c => Tensors.Any(t => t.Component == c));

    public IEnumerable<ModelTensor> Extras => Tensors.Where(t => t.Component is null);

    public ModelTensor? Find(string canonicalName) => byName.GetValueOrDefault(canonicalName);

    public static ModelCheckpoint Open(string path)
    {
        if (Directory.Exists(path))
        {
            return OpenFolder(path);
        }
        ICheckpointReader reader = CheckpointFiles.Open(path);
        try
        {
            var builder = new CanonicalBuilder(path);
            ForeignFamily? foreign = ForeignFamilies.Identify(reader.Tensors);
            CheckpointLayout layout = LayoutOf(reader.Tensors, foreign);
            switch (layout)
            {
                case CheckpointLayout.Original:
                    builder.AddOriginal(reader.Tensors);
                    break;
                case CheckpointLayout.Diffusers:
                    builder.AddDiffusersFile(reader.Tensors);
                    break;
                default:
                    builder.AddExtras(reader.Tensors);
                    break;
            }
            return new ModelCheckpoint(path, layout, false, [reader], builder.Tensors, reader.Metadata, foreign);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    private static ModelCheckpoint OpenFolder(string path)
    {
        var readers = new List<ICheckpointReader>();
        try
        {
            var builder = new CanonicalBuilder(path);
            IReadOnlyDictionary<string, string> metadata = new Dictionary<string, string>();
            bool pipeline = false;
            foreach (ModelComponent component in ModelComponents.All)
            {
                string folder = Path.Combine(path, component.FolderName());
                if (Directory.Exists(folder) && WeightsIn(folder) is string weights)
                {
                    ICheckpointReader reader = CheckpointFiles.Open(weights);
                    readers.Add(reader);
                    builder.AddComponent(component, reader.Tensors);
                    metadata = metadata.Count == 0 ? reader.Metadata : metadata;
                    pipeline = true;
                }
            }
            ForeignFamily? foreign = null;
            CheckpointLayout layout = CheckpointLayout.Diffusers;
            if (!pipeline)
            {
                string weights = WeightsIn(path)
                    ?? throw new FileNotFoundException($"{path}: no diffusers component folders (unet/, vae/, text_encoder/) and no weights file inside");
                ICheckpointReader reader = CheckpointFiles.Open(weights);
                readers.Add(reader);
                foreign = ForeignFamilies.Identify(reader.Tensors);
                layout = foreign is null && CanonicalBuilder.IsDiffusersFile(reader.Tensors) ? CheckpointLayout.Diffusers : CheckpointLayout.Plain;
                if (layout == CheckpointLayout.Diffusers)
                {
                    builder.AddDiffusersFile(reader.Tensors);
                }
                else
                {
                    builder.AddExtras(reader.Tensors);
                }
                metadata = reader.Metadata;
            }
            string extras = Path.Combine(path, ExtrasFileName);
            if (pipeline && File.Exists(extras))
            {
                ICheckpointReader reader = CheckpointFiles.Open(extras);
                readers.Add(reader);
                builder.AddExtras(reader.Tensors);
            }
            return new ModelCheckpoint(path, layout, true, readers, builder.Tensors, metadata, foreign);
        }
        catch
        {
            foreach (ICheckpointReader reader in readers)
            {
                reader.Dispose();
            }
            throw;
        }
    }

    /// <summary>
    /// The weights file diffusers would load from a component folder; failing the plain names, the fp16 variant
    /// (<c>variant="fp16"</c>), which is all some published folders hold.
    /// </summary>
    private static string? WeightsIn(string folder)
    {
        string[] preferred =
        [
            "diffusion_pytorch_model.safetensors", "model.safetensors",
            "diffusion_pytorch_model.safetensors.index.json", "model.safetensors.index.json",
            "diffusion_pytorch_model.bin", "pytorch_model.bin",
            "diffusion_pytorch_model.fp16.safetensors", "model.fp16.safetensors",
            "diffusion_pytorch_model.safetensors.index.fp16.json", "model.safetensors.index.fp16.json",
        ];
        return preferred.Select(name => Path.Combine(folder, name)).FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// A family dsoup does not run makes a file plain; then original-layout component keys decide;
    /// failing those, diffusers keys (component-prefixed, or one component's); failing those, plain.
    /// </summary>
    private static CheckpointLayout LayoutOf(IReadOnlyList<TensorEntry> tensors, ForeignFamily? foreign) =>
        foreign is not null ? CheckpointLayout.Plain
        : IsOriginalLayout(tensors) ? CheckpointLayout.Original
        : CanonicalBuilder.IsDiffusersFile(tensors) ? CheckpointLayout.Diffusers
        : CheckpointLayout.Plain;

    /// <summary>
    /// Original-layout component keys decide; failing those, component-prefixed diffusers keys; an
    /// EMA-only file (model_ema.* and nothing else) is original.
    /// </summary>
    private static bool IsOriginalLayout(IReadOnlyList<TensorEntry> tensors)
    {
        if (tensors.Any(t => KeyMaps.ForOriginalKey(t.Name) is not null))
        {
            return true;
        }
        if (tensors.Any(t => CanonicalBuilder.HasComponentPrefix(t.Name)))
        {
            return false;
        }
        return tensors.Any(t => t.Name.StartsWith(EmaSelection.Prefix, StringComparison.Ordinal));
    }

    private static TextEncoderKind DetectTextEncoder(IReadOnlyList<ModelTensor> tensors)
    {
        ModelTensor? embedding = tensors.FirstOrDefault(t => t.Name == "text_encoder.text_model.embeddings.token_embedding.weight");
        return embedding is null ? TextEncoderKind.None : embedding.Shape.Length == 2 && embedding.Shape[1] == 1024 ? TextEncoderKind.OpenClipH : TextEncoderKind.ClipL;
    }

    public void Dispose()
    {
        foreach (ICheckpointReader reader in readers)
        {
            reader.Dispose();
        }
    }
}
