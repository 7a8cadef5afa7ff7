using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Dsoup.Cli.Demo;

/// <summary>
/// Writes the demo's report.md from what its dsoup commands printed as JSON (eval, the unlearning eval, inspect
/// --base) and the runs' loss.csv files: the settings, every table, the sample grids, the loss curves (a ScottPlot
/// PNG), the stage times, and plain statements of what the numbers show — whichever way they fall.
/// </summary>
internal static class DemoReport
{
    public sealed record Inputs(WorkflowSettings Settings, JsonElement Evaluation, JsonElement Unlearning, JsonElement WeightChange,
        IReadOnlyList<(string Name, string Folder)> Runs, IReadOnlyList<(string Stage, TimeSpan Duration)> Stages, string Device, StyleReport? Styles);

    public static void Write(string path, Inputs inputs)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var md = new StringBuilder();
        WorkflowSettings s = inputs.Settings;
        md.AppendLine("# Diffusion Soup demo report").AppendLine();
        md.AppendLine(Invariant($"Made by `dsoup demo --data {s.Data}` ({Models.EngineVersion.Text}) on {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, device `{inputs.Device}`."));
        md.AppendLine(Invariant($"Data: `{s.Data}` split into {s.Shards} shards by class; held-out: `{s.HeldOut}` (first {s.EvalExamples} examples, {s.Draws} fixed draws each)."));
        string limit = s.ExamplesPerShard > 0 ? Invariant($"; at most {s.ExamplesPerShard} training images per shard") : "";
        md.AppendLine(Invariant($"Model: the tiny family (SD 1.x classes at toy width) at {s.Resolution} px. Autoencoder {s.VaeSteps} steps at {s.VaeResolution} px; base UNet {s.BaseSteps} steps; specialists {s.SpecialistSteps} steps each; paragon {s.Shards * s.SpecialistSteps} steps; batch {s.Batch}, learning rate {s.LearningRate}, caption dropout 0.1{limit}."));
        md.AppendLine();

        LossSection(md, inputs.Evaluation);
        ImageSection(md, inputs.Evaluation);
        UnlearningSection(md, inputs.Unlearning);
        WeightSection(md, inputs.WeightChange);
        if (inputs.Styles is StyleReport styles)
        {
            StyleSection(md, styles);
        }

        md.AppendLine("## Training loss").AppendLine();
        string plot = Path.Combine(folder, "loss-curves.png");
        LossCurves.Save(plot, inputs.Runs.Select(r => (r.Name, Path.Combine(r.Folder, "loss.csv"))).ToList());
        md.AppendLine("![Training loss (running mean over 20 steps) of the base, the specialists and the paragon](loss-curves.png)").AppendLine();

        md.AppendLine("## Stages").AppendLine();
        md.AppendLine("| stage | seconds |").AppendLine("|---|---:|");
        foreach ((string stage, TimeSpan duration) in inputs.Stages)
        {
            md.AppendLine(Invariant($"| {stage} | {duration.TotalSeconds:F1} |"));
        }
        md.AppendLine(Invariant($"| total | {inputs.Stages.Sum(x => x.Duration.TotalSeconds):F1} |"));
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, md.ToString());
        File.Move(temporary, path, overwrite: true);
    }

    private static void LossSection(StringBuilder md, JsonElement eval)
    {
        string reference = eval.GetProperty("reference").GetString()!;
        JsonElement rows = eval.GetProperty("models");
        var groups = rows[0].GetProperty("groups").EnumerateArray().Select(g => g.GetProperty("group").GetString()!).ToList();
        md.AppendLine("## Held-out denoising loss").AppendLine();
        md.AppendLine($"Mean ε-prediction MSE on the held-out images with the same timesteps and noise for every model; differences are paired against the {reference} " +
            "(negative: lower loss than the paragon), ± one standard error.").AppendLine();
        md.AppendLine("| model | loss | vs " + reference + " | " + string.Join(" | ", groups.Select(g => g + " vs " + reference)) + " |");
        md.AppendLine("|---|---:|---:|" + string.Concat(groups.Select(_ => "---:|")));
        foreach (JsonElement row in rows.EnumerateArray())
        {
            md.AppendLine($"| {row.GetProperty("model").GetString()} | {F(row.GetProperty("meanLoss"))} | {Difference(row.GetProperty("versusReference"))} | " +
                string.Join(" | ", row.GetProperty("groups").EnumerateArray().Select(g => Difference(g.GetProperty("versusReference")))) + " |");
        }
        md.AppendLine();
        foreach (string name in new[] { "soup", "greedy-soup" })
        {
            if (Find(rows, name) is JsonElement row)
            {
                JsonElement d = row.GetProperty("versusReference");
                double mean = d.GetProperty("mean").GetDouble(), se = d.GetProperty("standardError").GetDouble();
                string verdict = mean < 0 ? "lower (better) than" : mean > 0 ? "higher (worse) than" : "equal to";
                md.AppendLine(Invariant($"- The {name}'s held-out loss is {verdict} the {reference}'s by {Math.Abs(mean):0.00000} ({Math.Abs(mean) / Math.Max(se, 1e-300):0.0} standard errors)."));
            }
        }
        md.AppendLine();
    }

    private static void ImageSection(StringBuilder md, JsonElement eval)
    {
        if (!eval.TryGetProperty("images", out JsonElement images) || images.ValueKind != JsonValueKind.Object)
        {
            return;
        }
        md.AppendLine("## Generated images").AppendLine();
        md.AppendLine(Invariant($"One image per held-out caption (DDIM, 20 steps, guidance 3), judged by a classifier dsoup trains on the training split: {images.GetProperty("classifierAccuracy").GetDouble():P1} accuracy on held-out real images."));
        md.AppendLine("Memorization is the mean feature distance from generated images to the nearest training image of their shard, over the same for held-out real images: " +
            "below 1, the model's images sit closer to its training images than new real images do.").AppendLine();
        md.AppendLine("| model | shows the prompted class | Fréchet distance (features) | memorization |").AppendLine("|---|---:|---:|---:|");
        foreach (JsonElement m in images.GetProperty("models").EnumerateArray())
        {
            md.AppendLine(Invariant($"| {m.GetProperty("model").GetString()} | {m.GetProperty("promptAccuracy").GetDouble():P1} | {m.GetProperty("frechet").GetDouble():0.000} | {m.GetProperty("memorization").GetDouble():0.000} |"));
        }
        md.AppendLine();
        foreach (JsonElement m in images.GetProperty("models").EnumerateArray())
        {
            string name = m.GetProperty("model").GetString()!;
            md.AppendLine($"**{name}**").AppendLine().AppendLine($"![{name}](images/{name}.png)").AppendLine();
        }
    }

    private static void UnlearningSection(StringBuilder md, JsonElement unlearning)
    {
        JsonElement rows = unlearning.GetProperty("models");
        md.AppendLine("## Unlearning").AppendLine();
        md.AppendLine("Each specialist removed from the uniform soup (`dsoup soup remove`, exact). The change in held-out loss, paired against the full soup, " +
            "on the removed specialist's own shard and on the other shards (positive: the soup got worse there).").AppendLine();
        md.AppendLine("| removed | change on its shard | mean change on the other shards |").AppendLine("|---|---:|---:|");
        foreach (JsonElement row in rows.EnumerateArray().Skip(1))
        {
            string name = row.GetProperty("model").GetString()!;
            string shard = "shard " + name[(name.LastIndexOf('-') + 1)..];
            var groups = row.GetProperty("groups").EnumerateArray().ToList();
            JsonElement own = groups.Single(g => g.GetProperty("group").GetString() == shard);
            var others = groups.Where(g => g.GetProperty("group").GetString() != shard).Select(g => g.GetProperty("versusReference").GetProperty("mean").GetDouble()).ToList();
            md.AppendLine(Invariant($"| {name.Replace("soup-without-", "specialist ", StringComparison.Ordinal)} | {Difference(own.GetProperty("versusReference"))} | {others.Average():+0.00000;-0.00000;0} |"));
        }
        md.AppendLine();
    }

    private static void WeightSection(StringBuilder md, JsonElement change)
    {
        md.AppendLine("## Weight change from the base").AppendLine();
        md.AppendLine("‖θ − θ_base‖ / ‖θ_base‖ per component: how far fine-tuning moved each model (weight averaging assumes small moves).").AppendLine();
        JsonElement models = change.GetProperty("models");
        var components = models[0].GetProperty("components").EnumerateArray().Select(c => c.GetProperty("component").GetString()!).ToList();
        md.AppendLine("| model | " + string.Join(" | ", components) + " |").AppendLine("|---|" + string.Concat(components.Select(_ => "---:|")));
        foreach (JsonElement m in models.EnumerateArray())
        {
            md.AppendLine($"| {m.GetProperty("name").GetString()} | " + string.Join(" | ", m.GetProperty("components").EnumerateArray().Select(c => Invariant($"{c.GetProperty("relative").GetDouble():0.0000}"))) + " |");
        }
        md.AppendLine().AppendLine("Cosines between task vectors θ − θ_base:").AppendLine();
        foreach (JsonElement c in change.GetProperty("cosines").EnumerateArray())
        {
            md.AppendLine(Invariant($"- {c.GetProperty("first").GetString()} · {c.GetProperty("second").GetString()}: {c.GetProperty("cosine").GetDouble():+0.000;-0.000}"));
        }
        md.AppendLine();
    }

    private static void StyleSection(StringBuilder md, StyleReport styles)
    {
        string colour = Models.Data.EmbeddedImages.HeldBackColour, texture = Models.Data.EmbeddedImages.HeldBackTexture;
        md.AppendLine("## Zero-shot style mixing").AppendLine();
        md.AppendLine($"No training image is {colour} with {texture}. The {colour}-specialist was fine-tuned on the {colour} images (plain or dotted), the {texture}-specialist on the " +
            $"{texture} images (other colours), the style paragon on both sets with their steps added, and the style soup averages the two specialists. Each model drew " +
            $"\"a {colour} {{shape}} with {texture}\" for every shape; attribute classifiers trained here on the embedded images judge colour and texture.");
        (double c, double t, double both) = styles.ClassifierAccuracy;
        md.AppendLine(Invariant($"On drawn {colour} {texture} shapes (a pair they never saw either) the classifiers say {colour} {c:P0}, {texture} {t:P0}, both {both:P0}.")).AppendLine();
        md.AppendLine($"| model | {colour} | {texture} | both |").AppendLine("|---|---:|---:|---:|");
        foreach (Models.Evaluation.StyleScores s in styles.Scores)
        {
            md.AppendLine(Invariant($"| {s.Model} | {s.Colour:P0} | {s.Texture:P0} | {s.Both:P0} |"));
        }
        md.AppendLine();
        foreach (Models.Evaluation.StyleScores s in styles.Scores)
        {
            md.AppendLine($"**{s.Model}**").AppendLine().AppendLine($"![{s.Model}](images/style-{s.Model}.png)").AppendLine();
        }
    }

    private static JsonElement? Find(JsonElement rows, string name) =>
        rows.EnumerateArray().Where(r => r.GetProperty("model").GetString() == name).Select(r => (JsonElement?)r).FirstOrDefault();

    private static string F(JsonElement value) => value.GetDouble().ToString("0.00000", CultureInfo.InvariantCulture);

    private static string Difference(JsonElement d) =>
        Invariant($"{d.GetProperty("mean").GetDouble():+0.00000;-0.00000;0} ± {d.GetProperty("standardError").GetDouble():0.00000}");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The style-mixing stage's outcome: the classifiers' own accuracy on the held-back pair, and each model's scores.</summary>
internal sealed record StyleReport((double Colour, double Texture, double Both) ClassifierAccuracy, IReadOnlyList<Models.Evaluation.StyleScores> Scores);
