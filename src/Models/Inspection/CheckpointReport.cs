using Dsoup.Models.Layouts;

namespace Dsoup.Models.Inspection;

/// <summary>One component as found: tensor and parameter counts, dtypes, and how it compares with the expected architecture.</summary>
public sealed record ComponentReport(
    string Component,
    int Tensors,
    long Parameters,
    IReadOnlyDictionary<string, int> DTypes,
    string? Architecture,
    int Missing,
    int Unexpected,
    int ShapeMismatches);

/// <summary>What <c>dsoup inspect</c> reports about a checkpoint.</summary>
public sealed record CheckpointReport(
    string Source,
    IReadOnlyList<string> Formats,
    string Layout,
    string Family,
    string? Variant,
    string TextEncoder,
    IReadOnlyList<ComponentReport> Components,
    int EmaTensors,
    int ExtraTensors,
    long TotalBytes,
    IReadOnlyDictionary<string, string> Metadata,
    IReadOnlyList<string> Suspicious);
