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
