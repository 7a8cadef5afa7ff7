namespace Dsoup.Models;

/// <summary>The version recorded in files dsoup writes.</summary>
public static class EngineVersion
{
    public static string Text { get; } = "dsoup " + (typeof(EngineVersion).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");
}
