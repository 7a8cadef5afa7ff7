using Dsoup.Engine.Devices;
using Dsoup.Models.Data;
using Dsoup.Models.Evaluation;
using Dsoup.Models.Pipelines;
using Dsoup.Models.Synthetic;
using Dsoup.Models.Training;

namespace Dsoup.Models.Tests.Evaluation;

/// <summary>The memorization score on planted cases: "generated" images that copy training images against new images of the same captions.</summary>
public sealed class MemorizationTests
{
    [Fact]
    public void CopiesOfTrainingImagesScoreAsMemorizedAndNewImagesDoNot()
    {
        IReadOnlyList<TrainingExample> training = EmbeddedImages.Load(192);
        IReadOnlyList<TrainingExample> heldOut = EmbeddedImages.Load(24, first: EmbeddedImages.TrainingCount);
        int[] trainingShard = Sharding.ShardOf(training, 2, "label"), heldOutShard = Sharding.ShardOf(heldOut, 2, "label");
        using var metrics = new ImageMetrics(training, trainingShard, heldOut, heldOutShard, new ImageSettings(Resolution: 32), Device.Get("cpu"), _ => { }, seed: 1);

        // A model that memorised: for each held-out caption, the training image with the same caption (same shape,
        // colour and texture, so the prompt is still honoured), copied.
        var copies = heldOut.Select(h => training.First(t => t.Caption == h.Caption).Load(32)).ToList();
        // A model that generalises: new images of the same captions, drawn at other positions (the next held-out examples).
        var fresh = EmbeddedImages.Load(24, first: EmbeddedImages.TrainingCount + EmbeddedImages.CombinationCount).Select(e => e.Load(32)).ToList();
        Assert.Equal(heldOut.Select(h => h.Caption), EmbeddedImages.Load(24, first: EmbeddedImages.TrainingCount + EmbeddedImages.CombinationCount).Select(e => e.Caption));

        ImageScores memorized = metrics.ScoreImages("copies", copies, 32), general = metrics.ScoreImages("fresh", fresh, 32);
        Assert.Equal(0.0, memorized.Memorization, 6); // each copy has a training image at distance 0
        Assert.InRange(general.Memorization, 0.5, 2.0);
        Assert.True(memorized.PromptAccuracy > 0.6 && general.PromptAccuracy > 0.6, $"{memorized.PromptAccuracy} {general.PromptAccuracy}");
        Assert.Equal(2, general.PerShard.Count);
    }

    [Fact]
    public void AModelOverfittedOnAHandfulOfImagesScoresAsMemorizingThemAndOneTrainedOnOthersDoesNot()
    {
        using var folder = new TempFolder();
        var load = new ModelLoadOptions { Device = Device.Cpu };
        IReadOnlyList<TrainingExample> handful = EmbeddedImages.Load(2), others = EmbeddedImages.Load(62, first: 2);
        // A small latent-diffusion model from scratch: the autoencoder first, on all 64 images.
        string init = folder.File("init.safetensors");
        SyntheticCheckpoint.Write(init, new SyntheticOptions(ModelFamily.Tiny, Type: StorageType.F32, TrainableInit: true));
        string vae = new AutoencoderTrainer(new AutoencoderOptions { Steps = 80, BatchSize = 8, LearningRate = 3e-3f, Resolution = 32 }, load)
            .Run(init, [.. handful, .. others], folder.File("vae"), _ => { }).ModelPath!;
        // Then two UNets with the same budget: one on the handful (it memorises them), one on the other images.
        var options = new TrainingOptions { Steps = 250, BatchSize = 2, LearningRate = 2e-3f, Resolution = 64, CheckpointEvery = 1000 };
        string memorizer = new Trainer(options, load, _ => { }).Run(vae, handful, folder.File("memorizer"), resume: false).ModelPath!;
        string generalist = new Trainer(options, load, _ => { }).Run(vae, others, folder.File("generalist"), resume: false).ModelPath!;

        // Memorization against the handful (shard 0), prompted with held-out captions.
        IReadOnlyList<TrainingExample> heldOut = EmbeddedImages.Load(8, first: EmbeddedImages.TrainingCount);
        using var metrics = new ImageMetrics([.. handful, .. others], [0, 0, .. others.Select(_ => 1)], heldOut, new int[heldOut.Count],
            new ImageSettings(Resolution: 64, Steps: 10, CfgScale: 1f), Device.Cpu, _ => { }, seed: 2);
        double Score(string path)
        {
            using StableDiffusionModel model = StableDiffusionModel.Load(path, load);
            return metrics.Score(Path.GetFileName(Path.GetDirectoryName(path))!, model).Scores.Memorization;
        }
        double memorized = Score(memorizer), general = Score(generalist);
        Assert.True(memorized < general, $"memorization ratio: over-fitted {memorized:F3}, trained on other images {general:F3}");
    }
}
