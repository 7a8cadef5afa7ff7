using Dsoup.Engine.Checkpoints;
using Dsoup.Models.Data;
using Dsoup.Models.Layouts;
using Dsoup.Models.Pipelines;
using Dsoup.Models.Soup;
using Dsoup.Models.Training;

namespace Dsoup.Models.Evaluation;

/// <summary>
/// Greedy soup scored by held-out denoising loss: the first ingredient's model is loaded once with its data
/// encoded, and each candidate soup's UNet is put into it and scored on the same fixed draws. Fine-tuning changes
/// only the UNet, so the ingredients' VAE and text encoder must be identical (the search scores UNet soups; a
/// difference there is refused by name rather than silently ignored).
/// </summary>
public static class HeldOutGreedySoup
{
    public static GreedyResult Select(IReadOnlyList<(string Name, string Path)> ingredients, IReadOnlyList<TrainingExample> heldOut, LossSettings settings,
        ModelLoadOptions load, GreedyDirection direction, double tolerance, Action<string> warn, Action<string>? inform = null)
    {
        if (heldOut.Count == 0)
        {
            throw new InvalidDataException("the held-out data has no examples; a greedy soup scores candidates on it (--data)");
        }
        LossEvaluation.CheckSameArchitecture(ingredients);
        var opened = new List<(string Name, ModelCheckpoint Model)>();
        try
        {
            foreach ((string name, string path) in ingredients)
            {
                opened.Add((name, ModelCheckpoint.Open(path)));
            }
            CheckSameFrozenComponents(opened);
            using StableDiffusionModel model = StableDiffusionModel.Load(ingredients[0].Path, load with { WithVaeEncoder = true });
            inform?.Invoke($"encoding {heldOut.Count} held-out images and captions");
            var loss = new DenoisingLoss(model, heldOut, settings.Resolution, settings.Seed, settings.Draws, warn);
            return GreedySoup.Search(opened, weights =>
            {
                UnetWeights.Assign(model, weights);
                return loss.Evaluate();
            }, model.Device, name => name.StartsWith("unet.", StringComparison.Ordinal), direction, tolerance, inform);
        }
        finally
        {
            foreach ((_, ModelCheckpoint checkpoint) in opened)
            {
                checkpoint.Dispose();
            }
        }
    }

    /// <summary>Refuses ingredients whose text encoder or VAE values differ from the first's (compared as float32).</summary>
    private static void CheckSameFrozenComponents(IReadOnlyList<(string Name, ModelCheckpoint Model)> models)
    {
        (string firstName, ModelCheckpoint first) = models[0];
        foreach (ModelTensor tensor in first.Tensors.Where(t => t.Component is ModelComponent c && c != ModelComponent.Unet && t.Type.IsFloatingPoint()))
        {
            float[] expected = tensor.ReadSingles();
            foreach ((string name, ModelCheckpoint model) in models.Skip(1))
            {
                ModelTensor? other = model.Find(tensor.Name);
                if (other is null || !other.ReadSingles().AsSpan().SequenceEqual(expected))
                {
                    throw new InvalidDataException($"{name} and {firstName} differ in '{tensor.Name}': a greedy soup scores UNet soups, so the ingredients' text encoder and VAE must be the same (fine-tunes of one base)");
                }
            }
        }
    }
}
