using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Linalg;
using Dsoup.Models.Soup;

namespace Dsoup.Models.Lora;

/// <summary>
/// One low-rank update ΔW = (α / r) · B · A of one weight. Conv LoRAs keep their kernel in A
/// (r × in × kh × kw) and a 1×1 B (out × r × 1 × 1), so ΔW is always B (out × r) times A reshaped to
/// r × (in·kh·kw), reshaped back to the weight's shape.
/// </summary>
public sealed record LoraModule(string Id, string Module, LoraConvention Convention, TensorEntry Down, TensorEntry Up, double? Alpha, string Source)
{
    public int Rank => (int)Down.Shape[0];

    public long OutFeatures => Up.Shape[0];

    /// <summary>Elements of one output row of ΔW: in · kh · kw.</summary>
    public long RowLength => Down.ElementCount / Rank;

    /// <summary>α / r; a module stored without α means α = r (scale 1), as kohya and diffusers read it.</summary>
    public double Scale => (Alpha ?? Rank) / Rank;

    /// <summary>A as r × (in·kh·kw), in float64.</summary>
    public Matrix ReadDown() => Read(Down, Rank, RowLength);

    /// <summary>B as out × r, in float64.</summary>
    public Matrix ReadUp() => Read(Up, OutFeatures, Rank);

    private static Matrix Read(TensorEntry entry, long rows, long columns)
    {
        double[] values = ValueDecoder.ReadAll(entry);
        if (values.Any(v => !double.IsFinite(v)))
        {
            throw new InvalidDataException($"{entry.File.Path}: LoRA tensor '{entry.Name}' holds NaN or infinite values");
        }
        return new Matrix((int)rows, (int)columns, values);
    }
}
