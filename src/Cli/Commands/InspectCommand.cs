using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dsoup.Models.Inspection;
using Dsoup.Models.Layouts;

namespace Dsoup.Cli.Commands;

internal static class InspectCommand
{
    public static Command Create(CliContext context)
    {
        var path = new Argument<string>("path") { Description = "A checkpoint: .safetensors, .ckpt/.pt/.bin, a sharded *.index.json, or a diffusers folder." };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON, for scripts." };
        var scan = new Option<bool>("--scan") { Description = "Also read every tensor and report NaN or infinite values (reads the whole file)." };
        var command = new Command("inspect", "Report a checkpoint's family, components, parameter counts, dtypes, metadata, EMA weights and anything suspicious.")
        {
            path, json, scan,
        };
        command.SetAction(result => context.Run(() =>
        {
            using ModelCheckpoint checkpoint = ModelCheckpoint.Open(result.GetValue(path)!);
            CheckpointReport report = Inspector.Inspect(checkpoint, result.GetValue(scan));
            if (result.GetValue(json))
            {
                context.Output.WriteLine(JsonSerializer.Serialize(report, JsonOptions));
            }
            else
            {
                Print(report, context.Output);
            }
            return 0;
        }));
        return command;
    }

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
    };

    private static void Print(CheckpointReport r, TextWriter o)
    {
        o.WriteLine($"{r.Source}");
        o.WriteLine($"  format      {string.Join(", ", r.Formats)}, {r.Layout} layout, {Units.Bytes(r.TotalBytes)} of tensors");
        o.WriteLine($"  family      {r.Family}{(r.Variant is null ? "" : $", {r.Variant}")}");
        o.WriteLine($"  text        {r.TextEncoder}");
        foreach (ComponentReport c in r.Components)
        {
            string dtypes = string.Join(", ", c.DTypes.Select(d => $"{d.Key}×{d.Value}"));
            o.WriteLine($"  {c.Component,-12}{Units.Count(c.Parameters),15} parameters in {c.Tensors} tensors ({dtypes})" +
                (c.Architecture is null ? "" : c.Missing + c.Unexpected + c.ShapeMismatches == 0 ? $", matches {c.Architecture}" : $", differs from {c.Architecture}"));
        }
        o.WriteLine($"  ema         {(r.EmaTensors > 0 ? $"{r.EmaTensors} EMA tensors (model_ema.*)" : "none")}");
        o.WriteLine($"  extras      {r.ExtraTensors} tensors outside the components");
        if (r.Metadata.Count > 0)
        {
            o.WriteLine("  metadata");
            foreach ((string key, string value) in r.Metadata.OrderBy(m => m.Key, StringComparer.Ordinal))
            {
                string shown = value.Length > 100 ? value[..100] + "…" : value;
                o.WriteLine($"    {key} = {shown}");
            }
        }
        o.WriteLine(r.Suspicious.Count == 0 ? "  suspicious  nothing" : "  suspicious");
        foreach (string s in r.Suspicious)
        {
            o.WriteLine($"    - {s}");
        }
    }
}
