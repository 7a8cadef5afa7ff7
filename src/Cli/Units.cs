using System.Globalization;

namespace Dsoup.Cli;

/// <summary>Human-readable sizes, and parsing of sizes such as 256MiB, 2GB or 1.5G.</summary>
internal static class Units
{
    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? $"{bytes} B" : string.Create(CultureInfo.InvariantCulture, $"{value:F1} {units[unit]}");
    }

    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static long ParseSize(string text)
    {
        string t = text.Trim();
        int split = 0;
        while (split < t.Length && (char.IsDigit(t[split]) || t[split] == '.'))
        {
            split++;
        }
        if (split == 0 || !double.TryParse(t[..split], NumberStyles.Float, CultureInfo.InvariantCulture, out double number))
        {
            throw new FormatException($"'{text}' is not a size: expected a number with an optional unit, e.g. 256MiB, 2GB, 512M");
        }
        double scale = t[split..].Trim().ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "K" or "KB" => 1e3,
            "KIB" => 1024,
            "M" or "MB" => 1e6,
            "MIB" => 1 << 20,
            "G" or "GB" => 1e9,
            "GIB" => 1 << 30,
            "T" or "TB" => 1e12,
            "TIB" => 1L << 40,
            string unit => throw new FormatException($"'{text}': unknown size unit '{unit}' (use B, KB, KiB, MB, MiB, GB, GiB, TB, TiB)"),
        };
        return (long)(number * scale);
    }
}
