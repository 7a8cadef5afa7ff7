using Dsoup.Models.Data;
using Dsoup.Models.Layouts;
using Dsoup.Models.Pipelines;
using Dsoup.Models.Training;

namespace Dsoup.Models.Evaluation;

/// <summary>What <see cref="LossEvaluation"/> measures with: held-out resolution, draws per example and their seed.</summary>
public sealed record LossSettings(int Resolution = 64, int Draws = 4, ulong Seed = 1234);

/// <summary>One model's per-example held-out losses, in the order of <see cref="LossEvaluation.Examples"/>.</summary>
public sealed record ModelLosses(string Name, float[] PerExample);

/// <summary>
/// Held-out denoising loss of several models on the same examples and the same fixed draws, so their per-example
/// losses pair up. Every model must have the first one's architecture (same UNet tensors and shapes); each model's
/// own VAE and text encoder encode the data.
/// </summary>
public sealed class LossEvaluation
{
    private LossEvaluation(IReadOnlyList<TrainingExample> examples, int skipped, IReadOnlyList<ModelLosses> models)
    {
        Examples = examples;
        Skipped = skipped;
        Models = models;
    }

    public IReadOnlyList<TrainingExample> Examples { get; }

    public int Skipped { get; }

    public IReadOnlyList<ModelLosses> Models { get; }

    /// <param name="alsoWith">Called with each loaded model after its losses (image metrics use the same load).</param>
    public static LossEvaluation Run(IReadOnlyList<(string Name, string Path)> models, IReadOnlyList<TrainingExample> examples, LossSettings settings,
        ModelLoadOptions load, Action<string> warn, Action<string>? inform = null, Action<string, StableDiffusionModel>? alsoWith = null)
    {
        if (models.Count == 0)
        {
            throw new ArgumentException("name at least one model to evaluate");
        }
        if (examples.Count == 0)
        {
            throw new InvalidDataException("the evaluation data has no examples (check --data and --shard)");
        }
        CheckSameArchitecture(models);
        var results = new List<ModelLosses>();
        IReadOnlyList<TrainingExample>? scored = null;
        int skipped = 0;
        foreach ((string name, string path) in models)
        {
            inform?.Invoke($"evaluating {name}");
            using StableDiffusionModel model = StableDiffusionModel.Load(path, load with { WithVaeEncoder = true });
            var loss = new DenoisingLoss(model, examples, settings.Resolution, settings.Seed, settings.Draws, scored is null ? warn : null);
            results.Add(new ModelLosses(name, loss.Evaluate()));
            scored ??= loss.Examples;
            skipped = loss.Skipped;
            alsoWith?.Invoke(name, model);
        }
        return new LossEvaluation(scored!, skipped, results);
    }

    /// <summary>Refuses models whose UNets differ in any tensor name or shape from the first model's, naming the first difference.</summary>
    public static void CheckSameArchitecture(IReadOnlyList<(string Name, string Path)> models)
    {
        Dictionary<string, string>? first = null;
        string firstName = "";
        foreach ((string name, string path) in models)
        {
            using ModelCheckpoint checkpoint = ModelCheckpoint.Open(path);
            var shapes = checkpoint.Tensors.Where(t => t.Component == ModelComponent.Unet).ToDictionary(t => t.Name, t => t.ShapeText, StringComparer.Ordinal);
            if (first is null)
            {
                (first, firstName) = (shapes, name);
                continue;
            }
            foreach ((string tensor, string shape) in first)
            {
                if (!shapes.TryGetValue(tensor, out string? other))
                {
                    throw new InvalidDataException($"{name} and {firstName} have different architectures: {name} has no '{tensor}'");
                }
                if (other != shape)
                {
                    throw new InvalidDataException($"{name} and {firstName} have different architectures: '{tensor}' is {other} in {name} but {shape} in {firstName}");
                }
            }
            if (shapes.Keys.FirstOrDefault(k => !first.ContainsKey(k)) is string extra)
            {
                throw new InvalidDataException($"{name} and {firstName} have different architectures: {name} has '{extra}', which {firstName} lacks");
            }
        }
    }
}
