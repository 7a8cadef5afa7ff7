namespace Dsoup.Models.Lora;

/// <summary>A LoRA applied into a checkpoint at a strength: W ← W + strength · (α / r) · B · A.</summary>
public sealed record SoupLora(LoraFile File, double Strength)
{
    public string Name => File.Name;

    /// <summary>Parses "path" or "path:strength" (strength defaults to 1).</summary>
    public static (string Path, double Strength) ParseSpec(string spec)
    {
        int colon = spec.LastIndexOf(':');
        if (colon > 0 && double.TryParse(spec[(colon + 1)..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double strength))
        {
            return double.IsFinite(strength) ? (spec[..colon], strength) : throw new ArgumentException($"'{spec}': the strength must be a finite number");
        }
        return (spec, 1.0);
    }
}
