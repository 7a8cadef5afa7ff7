using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dsoup.Models.Inspection;
using Dsoup.Models.Layouts;

namespace Dsoup.Cli.Commands;

internal static class InspectCommand
{
    public static Command Create(CliContext context)
    {
        var paths = new Argument<string[]>("paths")
        {
            Arity = ArgumentArity.OneOrMore,
            Description = "A checkpoint: .safetensors, .ckpt/.pt/.bin, a sharded *.index.json, or a diffusers folder (several with --base).",
        };
        var baseModel = new Option<string?>("--base") { Description = "Report how far each model moved from this base: per-component relative norm of θ − θ_base, and the cosines between the models' task vectors." };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON, for scripts." };
        var scan = new Option<bool>("--scan") { Description = "Also read every tensor and report NaN or infinite values (reads the whole file)." };
        var command = new Command("inspect",
            "Report a checkpoint's family, components, parameter counts, dtypes, metadata, EMA weights and anything suspicious; " +
            "with --base, how far fine-tunes moved from their base and how aligned their task vectors are.")
        {
            paths, json, scan, baseModel,
        };
        command.SetAction(result => context.Run(() =>
        {
            string[] given = result.GetValue(paths)!;
            if (result.GetValue(baseModel) is string basePath)
            {
                return ReportChange(context, basePath, given, result.GetValue(json));
            }
            if (given.Length > 1)
            {
                throw new ArgumentException("inspect reads one checkpoint at a time; several models are compared with --base BASE");
            }
            using ModelCheckpoint checkpoint = ModelCheckpoint.Open(given[0]);
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

    private static int ReportChange(CliContext context, string basePath, string[] paths, bool json)
    {
        using ModelCheckpoint baseModel = ModelCheckpoint.Open(basePath);
        var models = new List<(string Name, ModelCheckpoint Model)>();
        try
        {
            foreach ((string name, string path) in EvalCommand.ModelNames(paths))
            {
                models.Add((name, ModelCheckpoint.Open(path)));
            }
            WeightChangeReport report = WeightChange.Measure(Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(basePath)), baseModel, models);
            if (json)
            {
                context.Output.WriteLine(JsonSerializer.Serialize(report, JsonOptions));
                return 0;
            }
            TextWriter o = context.Output;
            o.WriteLine($"weight change from {report.Base}: ‖θ − θ_base‖ / ‖θ_base‖ per component");
            var names = report.Models[0].Components.Select(c => c.Component).ToList();
            int width = Math.Max(8, report.Models.Max(m => m.Name.Length));
            o.WriteLine("model".PadRight(width) + string.Concat(names.Select(n => $"  {n,14}")));
            foreach (ModelChange m in report.Models)
            {
                o.WriteLine(m.Name.PadRight(width) + string.Concat(m.Components.Select(c => $"  {c.Relative.ToString("0.000000", CultureInfo.InvariantCulture),14}")));
            }
            if (report.Cosines.Count > 0)
            {
                o.WriteLine("task-vector cosines (θ − θ_base), all components:");
                foreach (TaskVectorCosine c in report.Cosines)
                {
                    o.WriteLine($"  {c.First} · {c.Second}  {c.Cosine.ToString("+0.0000;-0.0000", CultureInfo.InvariantCulture)}");
                }
            }
            return 0;
        }
        finally
        {
            foreach ((_, ModelCheckpoint m) in models)
            {
                m.Dispose();
            }
        }
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
