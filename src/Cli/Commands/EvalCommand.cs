using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Dsoup.Models.Data;
using Dsoup.Models.Evaluation;
using Dsoup.Models.Pipelines;

namespace Dsoup.Cli.Commands;

/// <summary>`dsoup eval`: held-out denoising loss of several models on the same fixed draws, paired against a reference, overall and per shard.</summary>
internal static class EvalCommand
{
    public static Command Create(CliContext context)
    {
        var models = new Argument<string[]>("models") { Arity = ArgumentArity.OneOrMore, Description = "The models to compare (same architecture; any form dsoup inspect reads)." };
        var heldOut = new HeldOutData("Held-out data: embedded:test, fashion-mnist:test, or a folder of captioned images.", required: true);
        var shards = new Option<int>("--of") { Description = "Report per shard too: the data split into this many shards as 'dsoup train --of N' splits it.", DefaultValueFactory = _ => 1 };
        var shardBy = new Option<string>("--shard-by") { Description = "name or label, as the models were trained.", DefaultValueFactory = _ => "name" };
        shardBy.AcceptOnlyFromAmong("name", "label");
        var reference = new Option<string?>("--reference") { Description = "The model the others are paired against (a name or path as given; default: the first)." };
        var json = new Option<bool>("--json") { Description = "Print the numbers as JSON on standard output." };
        var images = new Option<bool>("--images")
        {
            Description = "Also generate one image per held-out caption and measure them with a classifier trained here on the training split: " +
                "share showing the prompted class, Fréchet distance to held-out images, memorization (distance to the nearest training image of the shard, against held-out images').",
        };
        var trainData = new Option<string?>("--train-data") { Description = "With --images: the training split (default: --data without ':test')." };
        var saveImages = new Option<string?>("--save-images") { Description = "With --images: write each model's images as one PNG grid into this folder." };
        var sampler = new Option<string>("--sampler") { Description = "With --images: the sampler.", DefaultValueFactory = _ => "ddim" };
        var sampleSteps = new Option<int>("--sample-steps") { Description = "With --images: sampling steps.", DefaultValueFactory = _ => 20 };
        var cfgScale = new Option<float>("--cfg-scale") { Description = "With --images: guidance scale.", DefaultValueFactory = _ => 3f };
        var command = new Command("eval",
            "Held-out denoising loss of each model on the same examples, timesteps and noise (a fixed seed), so the paired differences " +
            "between models carry no sampling noise; reported overall and per shard with standard errors.")
        {
            models, shards, shardBy, reference, json, images, trainData, saveImages, sampler, sampleSteps, cfgScale,
        };
        heldOut.AddTo(command);
        command.SetAction(result => context.Run(() =>
        {
            string[] paths = result.GetValue(models)!;
            var named = ModelNames(paths);
            int referenceIndex = ReferenceIndex(result.GetValue(reference), paths, named);
            (string spec, IReadOnlyList<TrainingExample> examples, LossSettings settings, ModelLoadOptions load) = heldOut.Read(result, context);
            int[] shardOf = Sharding.ShardOf(examples, result.GetValue(shards), result.GetValue(shardBy)!);
            Action<string> warn = m => context.Error.WriteLine($"warning: {m}");
            using ImageMetrics? metrics = result.GetValue(images)
                ? OpenImageMetrics(context, result.GetValue(trainData), spec, examples, shardOf, result.GetValue(shards), result.GetValue(shardBy)!,
                    new ImageSettings(settings.Resolution, result.GetValue(sampleSteps), result.GetValue(cfgScale), result.GetValue(sampler)!), load, warn)
                : null;
            string? imageFolder = result.GetValue(saveImages);
            if (imageFolder is not null)
            {
                Directory.CreateDirectory(imageFolder);
            }
            var imageScores = new List<ImageScores>();
            var evaluation = LossEvaluation.Run(named, examples, settings, load, warn, m => context.Error.WriteLine(m), metrics is null ? null : (name, model) =>
            {
                context.Error.WriteLine($"generating {examples.Count} images with {name}");
                (ImageScores scores, IReadOnlyList<float[]> generated) = metrics.Score(name, model);
                imageScores.Add(scores);
                if (imageFolder is not null)
                {
                    Models.Images.ImageGrid.Save(Path.Combine(imageFolder, SafeFileName(name) + ".png"), generated, settings.Resolution, 8);
                }
            });
            var groupOf = new Dictionary<TrainingExample, string>(ReferenceEqualityComparer.Instance);
            for (int i = 0; i < examples.Count; i++)
            {
                groupOf[examples[i]] = $"shard {shardOf[i]}";
            }
            var rows = LossTable.Build(evaluation.Models, referenceIndex, evaluation.Examples.Select(e => groupOf[e]).ToList());
            var report = new EvalReport(spec, evaluation.Examples.Count, evaluation.Skipped, settings, named[referenceIndex].Name, rows,
                metrics is null ? null : new ImageReport(metrics.ClassifierAccuracy, metrics.Classes, imageScores));
            if (result.GetValue(json))
            {
                context.Output.WriteLine(JsonSerializer.Serialize(report, InspectCommand.JsonOptions));
            }
            else
            {
                Print(report, context.Output);
            }
            return 0;
        }));
        return command;
    }

    /// <summary>What dsoup eval reports (also its JSON).</summary>
    internal sealed record EvalReport(string Data, int Examples, int Skipped, LossSettings Settings, string Reference, IReadOnlyList<ModelLossRow> Models, ImageReport? Images);

    /// <summary>The image metrics, with the accuracy of the classifier behind them on held-out real images.</summary>
    internal sealed record ImageReport(double ClassifierAccuracy, IReadOnlyList<string> Classes, IReadOnlyList<ImageScores> Models);

    private static ImageMetrics OpenImageMetrics(CliContext context, string? trainData, string spec, IReadOnlyList<TrainingExample> heldOut, int[] heldOutShard,
        int shards, string shardBy, ImageSettings settings, ModelLoadOptions load, Action<string> warn)
    {
        string trainingSpec = trainData ?? (spec.EndsWith(":test", StringComparison.Ordinal) ? spec[..^":test".Length]
            : throw new ArgumentException("--images trains its classifier on the training split: give --train-data (it is implied only for embedded:test and fashion-mnist:test)"));
        IReadOnlyList<TrainingExample> training = Datasets.Open(trainingSpec);
        context.Error.WriteLine($"training the image classifier on {trainingSpec} ({Math.Min(training.Count, ImageMetrics.MaxTrainingImages)} images)");
        var metrics = new ImageMetrics(training, Sharding.ShardOf(training, shards, shardBy), heldOut, heldOutShard, settings,
            load.Device ?? Engine.Devices.Device.Default, warn);
        context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"classifier accuracy on {spec}: {metrics.ClassifierAccuracy:P1}"));
        return metrics;
    }

    private static string SafeFileName(string name) => string.Concat(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));

    /// <summary>Each model's display name: its file or folder name, or the path where two names clash.</summary>
    internal static List<(string Name, string Path)> ModelNames(IReadOnlyList<string> paths)
    {
        string Short(string p) => Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(p));
        var counts = paths.GroupBy(Short).ToDictionary(g => g.Key, g => g.Count());
        return paths.Select(p => (counts[Short(p)] > 1 ? p : Short(p), p)).ToList();
    }

    private static int ReferenceIndex(string? reference, string[] paths, List<(string Name, string Path)> named)
    {
        if (reference is null)
        {
            return 0;
        }
        int index = named.FindIndex(n => n.Name == reference || n.Path == reference);
        return index >= 0 ? index : throw new ArgumentException($"--reference {reference} is not one of the models ({string.Join(", ", named.Select(n => n.Name))})");
    }

    private static void Print(EvalReport r, TextWriter o)
    {
        string F(double v) => v.ToString("0.000000", CultureInfo.InvariantCulture);
        string D(PairedDifference d) => $"{d.Mean.ToString("+0.000000;-0.000000;0", CultureInfo.InvariantCulture)} ± {d.StandardError.ToString("0.000000", CultureInfo.InvariantCulture)}";
        o.WriteLine($"held-out denoising loss on {r.Data}: {r.Examples} examples × {r.Settings.Draws} draws (seed {r.Settings.Seed}), {r.Settings.Resolution} px" +
            (r.Skipped > 0 ? $", {r.Skipped} unreadable images skipped" : ""));
        o.WriteLine($"paired differences are model − {r.Reference} on the same draws, ± one standard error (negative: lower loss than {r.Reference})");
        int width = Math.Max(8, r.Models.Max(m => m.Model.Length));
        var groups = r.Models[0].Groups;
        bool perGroup = groups.Count > 1;
        o.WriteLine();
        o.WriteLine($"{"model".PadRight(width)}  {"loss",9}  {"vs " + r.Reference,-22}" + (perGroup ? string.Concat(groups.Select(g => $"  {g.Group + $" ({g.Examples})",-22}")) : ""));
        foreach (ModelLossRow m in r.Models)
        {
            o.WriteLine($"{m.Model.PadRight(width)}  {F(m.MeanLoss),9}  {D(m.VersusReference),-22}" + (perGroup ? string.Concat(m.Groups.Select(g => $"  {D(g.VersusReference),-22}")) : ""));
        }
        if (perGroup)
        {
            o.WriteLine();
            o.WriteLine($"{"mean loss".PadRight(width)}" + string.Concat(groups.Select(g => $"  {g.Group,12}")));
            foreach (ModelLossRow m in r.Models)
            {
                o.WriteLine(m.Model.PadRight(width) + string.Concat(m.Groups.Select(g => $"  {F(g.MeanLoss),12}")));
            }
        }
        if (r.Images is ImageReport images)
        {
            o.WriteLine();
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"generated images, one per held-out caption, judged by a classifier with {images.ClassifierAccuracy:P1} accuracy on held-out real images"));
            o.WriteLine($"{"model".PadRight(width)}  {"prompted class",14}  {"Fréchet",9}  {"memorization",12}");
            foreach (ImageScores s in images.Models)
            {
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{s.Model.PadRight(width)}  {s.PromptAccuracy,14:P1}  {s.Frechet,9:0.000}  {s.Memorization,12:0.000}"));
            }
            o.WriteLine("memorization: mean distance from generated images to the nearest training image of their shard, over the same for held-out images (below 1: closer than new real images)");
        }
    }
}
