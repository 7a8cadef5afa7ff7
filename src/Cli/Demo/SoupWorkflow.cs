using System.Globalization;
using System.Text.Json;
using Dsoup.Engine.Devices;
using Dsoup.Models.Data;
using Dsoup.Models.Evaluation;
using Dsoup.Models.Images;
using Dsoup.Models.Pipelines;

namespace Dsoup.Cli.Demo;

/// <summary>
/// The paper's workflow (Diffusion Soup, arXiv 2406.08431) as a user would run it with dsoup: a small
/// latent-diffusion model built from scratch (autoencoder, then UNet, with the real SD classes at toy width), one
/// specialist fine-tuned per data shard, the paragon fine-tuned on their union with the same total steps, a uniform
/// and a greedy soup, each shard unlearned from the soup in turn, every model evaluated, and report.md written.
/// </summary>
internal sealed class SoupWorkflow(CliContext context, string folder, WorkflowSettings settings, Device device) : DemoScript(context, folder)
{
    private string[] DeviceArgs => ["--device", device.Name];

    public override void Run()
    {
        WorkflowSettings s = settings;
        Directory.CreateDirectory(F("runs"));

        Stage("1. Base model, part 1: a tiny latent-diffusion model (SD 1.x classes at toy width) from scratch: its autoencoder");
        Dsoup(["synthesize", F("init.safetensors"), "--family", "tiny", "--trainable", "--dtype", "f32", "--seed", "7"]);
        Dsoup(["train", "-m", F("init.safetensors"), "--target", "vae", "--data", s.Data, "--max-examples", $"{s.ExamplesPerShard * s.Shards}",
            "--resolution", $"{s.VaeResolution}", "--batch", "8", "--steps", $"{s.VaeSteps}", "--lr", "3e-3", "-o", F("runs/vae"), .. DeviceArgs]);

        Stage("2. Base model, part 2: its UNet trained from scratch on all the training data");
        Dsoup(["train", "-m", F("runs/vae/model.safetensors"), .. Training(s.BaseSteps, s.ExamplesPerShard * s.Shards), "--seed", "100", "-o", F("runs/base")]);
        string baseModel = F("base.safetensors");
        File.Copy(F("runs/base/model.safetensors"), baseModel, overwrite: true);

        Stage($"3. Specialists: the base fine-tuned on each of {s.Shards} disjoint shards (split by class)");
        string[] specialists = new string[s.Shards];
        for (int k = 0; k < s.Shards; k++)
        {
            Dsoup(["train", "-m", baseModel, .. Training(s.SpecialistSteps, s.ExamplesPerShard), "--shard", $"{k}", "--of", $"{s.Shards}", "--shard-by", "label",
                "--seed", $"{k}", "-o", F($"runs/specialist-{k}")]);
            specialists[k] = F($"specialist-{k}.safetensors");
            File.Copy(F($"runs/specialist-{k}/model.safetensors"), specialists[k], overwrite: true);
        }

        Stage($"4. Paragon: the base fine-tuned on the union of the shards, with the same total steps ({s.Shards} × {s.SpecialistSteps})");
        Dsoup(["train", "-m", baseModel, .. Training(s.Shards * s.SpecialistSteps, s.ExamplesPerShard * s.Shards), "--seed", "50", "-o", F("runs/paragon")]);
        string paragon = F("paragon.safetensors");
        File.Copy(F("runs/paragon/model.safetensors"), paragon, overwrite: true);

        Stage("5. Soups: uniform (exact, with a state for unlearning) and greedy (ingredients kept only if the held-out loss improves)");
        string soup = F("soup.safetensors"), greedy = F("greedy-soup.safetensors");
        Dsoup(["soup", .. specialists, "-o", soup, "--state", F("soup.state")]);
        Dsoup(["soup", .. specialists, "--greedy", "--data", s.HeldOut, "--limit", $"{s.GreedyExamples}", "--draws", $"{s.Draws}", "--resolution", $"{s.Resolution}",
            "-o", greedy, .. DeviceArgs]);

        Stage("6. Unlearning: each specialist removed from the soup in turn (exact: bit for bit the soup rebuilt without it)");
        string[] without = new string[s.Shards];
        for (int k = 0; k < s.Shards; k++)
        {
            without[k] = F($"soup-without-{k}.safetensors");
            Dsoup("soup", "remove", F("soup.state"), specialists[k], "-o", without[k]);
            Dsoup("soup", "add", F("soup.state"), specialists[k], "-o", F("soup-restored.safetensors"), "--overwrite");
            Check(SameTensorBytes(soup, F("soup-restored.safetensors")), $"adding specialist {k} back restores the soup bit for bit");
        }
        Dsoup(["soup", .. specialists.Skip(1), "-o", F("rebuilt-without-0.safetensors")]);
        Check(SameTensorBytes(without[0], F("rebuilt-without-0.safetensors")), "removing specialist 0 gives the bytes of a soup rebuilt without it");

        Stage("7. Evaluation: held-out loss (paired), images judged by a classifier trained here, memorization");
        string[] models = [baseModel, .. specialists, paragon, soup, greedy];
        string[] scoring = ["--data", s.HeldOut, "--of", $"{s.Shards}", "--shard-by", "label", "--limit", $"{s.EvalExamples}", "--draws", $"{s.Draws}",
            "--resolution", $"{s.Resolution}", "--json", .. DeviceArgs];
        string evaluation = DsoupOutput(["eval", .. models, .. scoring, "--reference", paragon, "--images", "--save-images", F("images")]);
        string unlearning = DsoupOutput(["eval", soup, .. without, .. scoring]);

        Stage("8. Weight change from the base: relative norms and task-vector cosines");
        string change = DsoupOutput(["inspect", .. specialists, paragon, soup, "--base", baseModel, "--json"]);

        StyleReport? styles = null;
        if (s.Data == "embedded")
        {
            Stage($"9. Zero-shot style mixing: no training image is {EmbeddedImages.HeldBackColour} with {EmbeddedImages.HeldBackTexture}; a soup of a '{EmbeddedImages.HeldBackColour}' and a '{EmbeddedImages.HeldBackTexture}' specialist is asked for both");
            styles = MixStyles(baseModel);
        }

        Stage($"{(styles is null ? 9 : 10)}. Report");
        string report = F("report.md");
        DemoReport.Write(report, new DemoReport.Inputs(settings, JsonDocument.Parse(evaluation).RootElement, JsonDocument.Parse(unlearning).RootElement,
            JsonDocument.Parse(change).RootElement, [("base", F("runs/base")), .. specialists.Select((_, k) => ($"specialist-{k}", F($"runs/specialist-{k}"))), ("paragon", F("runs/paragon"))],
            Stages, device.Name, styles));
        Context.Output.WriteLine($"wrote {report}");
        EndStage();
    }

    /// <summary>Specialists on the two style shards, their paragon and their soup, prompted for the style pair none of their data shows.</summary>
    private StyleReport MixStyles(string baseModel)
    {
        string colour = EmbeddedImages.HeldBackColour, texture = EmbeddedImages.HeldBackTexture;
        var models = new List<(string Name, string Path)> { ("base", baseModel) };
        foreach ((string name, string words, int steps) in new[] { ($"{colour}-specialist", colour, settings.SpecialistSteps), ($"{texture}-specialist", texture, settings.SpecialistSteps),
            ("style-paragon", $"{colour}|{texture}", 2 * settings.SpecialistSteps) })
        {
            Dsoup(["train", "-m", baseModel, .. Training(steps, 0), "--caption-has", words, "--seed", "200", "-o", F($"runs/{name}")]);
            models.Add((name, F($"runs/{name}/model.safetensors")));
        }
        Dsoup("soup", models[1].Path, models[2].Path, "-o", F("style-soup.safetensors"));
        models.Add(("style-soup", F("style-soup.safetensors")));

        Context.Output.WriteLine($"   training attribute classifiers (colour, texture) and prompting each model with \"{StyleMixing.Prompts[0]}\" and the other shapes");
        using var mixing = new StyleMixing(device, new ImageSettings(settings.Resolution), imagesPerShape: settings.StyleImagesPerShape);
        var scores = new List<StyleScores>();
        foreach ((string name, string path) in models)
        {
            using StableDiffusionModel model = StableDiffusionModel.Load(path, new ModelLoadOptions { Device = device });
            (StyleScores score, IReadOnlyList<float[]> images) = mixing.Score(name, model);
            scores.Add(score);
            ImageGrid.Save(F($"images/style-{name}.png"), images, settings.Resolution, settings.StyleImagesPerShape);
            Context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"   {name,-20} {colour} {score.Colour,7:P0}  {texture} {score.Texture,7:P0}  both {score.Both,7:P0}"));
        }
        return new StyleReport(mixing.ClassifierAccuracy, scores);
    }

    /// <summary>The flags every UNet training run of the demo shares.</summary>
    private string[] Training(int steps, int examples) =>
        ["--data", settings.Data, "--resolution", $"{settings.Resolution}", "--batch", $"{settings.Batch}", "--steps", $"{steps}", "--lr", Num(settings.LearningRate),
         "--caption-dropout", "0.1", "--max-examples", $"{examples}", .. DeviceArgs];

    private static string Num(float v) => v.ToString("R", CultureInfo.InvariantCulture);
}
