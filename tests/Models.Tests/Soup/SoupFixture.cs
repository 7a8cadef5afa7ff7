using Dsoup.Models.Soup;
using Dsoup.Models.Synthetic;

namespace Dsoup.Models.Tests.Soup;

/// <summary>Small synthetic "fine-tunes" of one tiny base, and helpers to read checkpoints as f64 values by canonical name.</summary>
public sealed class SoupFixture : IDisposable
{
    private readonly TempFolder temp = new();

    public string File(string name) => temp.File(name);

    /// <summary>A variant of the tiny base (variant 0 is the base itself).</summary>
    public string Variant(int variant, StorageType type = StorageType.F16, CheckpointLayout layout = CheckpointLayout.Original, float perturbation = 0.2f)
    {
        string path = temp.File($"v{variant}-{type}-{layout}.safetensors");
        if (!System.IO.File.Exists(path))
        {
            SyntheticCheckpoint.Write(path, new SyntheticOptions(ModelFamily.Tiny, layout, type, BaseSeed: 7, VariantSeed: (ulong)variant,
                Perturbation: variant == 0 ? 0 : perturbation));
        }
        return path;
    }

    /// <summary>
    /// <see cref="Variant"/>'s bytes under names no layout knows ("t0.weight", "t1.weight", … in file order, each
    /// prefixed with <paramref name="prefix"/>): a stand-in for SDXL, Flux or LLM checkpoints.
    /// </summary>
    public string PlainVariant(int variant, StorageType type = StorageType.F16, string prefix = "")
    {
        string path = temp.File($"plain{prefix}v{variant}-{type}.safetensors");
        if (!System.IO.File.Exists(path))
        {
            using var source = Engine.Checkpoints.Safetensors.SafetensorsReader.Open(Variant(variant, type));
            var tensors = source.Tensors.Where(t => t.Type.IsFloatingPoint()).ToList();
            var headers = tensors.Select((t, i) => new Engine.Checkpoints.Safetensors.TensorHeader($"{prefix}t{i}.weight", t.Type, t.Shape)).ToList();
            using var writer = Engine.Checkpoints.Safetensors.SafetensorsWriter.Create(path, headers, null);
            foreach (var t in tensors)
            {
                var bytes = new byte[t.ByteLength];
                t.Read(0, bytes);
                writer.Write(bytes);
            }
            writer.Commit();
        }
        return path;
    }

    /// <summary>The tensor names of a safetensors file, as stored.</summary>
    public static List<string> StoredNames(string path)
    {
        using var reader = Engine.Checkpoints.Safetensors.SafetensorsReader.Open(path);
        return reader.Tensors.Select(t => t.Name).ToList();
    }

    /// <summary>Every floating-point tensor of a checkpoint as f64, by canonical name.</summary>
    public static Dictionary<string, (double[] Values, StorageType Type)> Values(string path)
    {
        using ModelCheckpoint checkpoint = ModelCheckpoint.Open(path);
        return checkpoint.Tensors.Where(t => t.Type.IsFloatingPoint()).ToDictionary(t => t.Name, t =>
        {
            var bytes = new byte[t.ByteLength];
            t.Read(0, bytes);
            var floats = new float[t.ElementCount];
            var values = new double[t.ElementCount];
            Dsoup.Models.Soup.ValueDecoder.Decode(t.Type, bytes, values, floats);
            return (values, t.Type);
        });
    }

    public static SoupResult Soup(IReadOnlyList<string> inputs, string output, SoupOptions options, string? baseModel = null,
        string? fallback = null, string? state = null, int? interruptAfter = null, Engine.Devices.Device? device = null)
    {
        var opened = inputs.Select(p => SoupIngredient.Open(p)).ToList();
        SoupIngredient? b = baseModel is null ? null : SoupIngredient.Open(baseModel);
        SoupIngredient? f = fallback is null ? null : SoupIngredient.Open(fallback);
        try
        {
            SoupPlan plan = SoupPlanner.Plan(opened, b, f, options);
            return SoupEngine.Run(plan, new SoupRunOptions(output)
            {
                StatePath = state,
                Overwrite = true,
                InterruptAfterTensors = interruptAfter,
                Device = device,
                DeviceMinimumElements = 0, // the tiny test models' tensors are all small
            });
        }
        finally
        {
            foreach (var i in opened)
            {
                i.Dispose();
            }
            b?.Dispose();
            f?.Dispose();
        }
    }

    public void Dispose() => temp.Dispose();
}
