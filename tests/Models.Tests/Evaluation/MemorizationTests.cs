using Dsoup.Engine.Devices;
using Dsoup.Models.Data;
using Dsoup.Models.Evaluation;

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
        var fresh = EmbeddedImages.Load(24, first: EmbeddedImages.TrainingCount + 48).Select(e => e.Load(32)).ToList();
        Assert.Equal(heldOut.Select(h => h.Caption), EmbeddedImages.Load(24, first: EmbeddedImages.TrainingCount + 48).Select(e => e.Caption));

        ImageScores memorized = metrics.ScoreImages("copies", copies, 32), general = metrics.ScoreImages("fresh", fresh, 32);
        Assert.Equal(0.0, memorized.Memorization, 6); // each copy has a training image at distance 0
        Assert.InRange(general.Memorization, 0.5, 2.0);
        Assert.True(memorized.PromptAccuracy > 0.6 && general.PromptAccuracy > 0.6, $"{memorized.PromptAccuracy} {general.PromptAccuracy}");
        Assert.Equal(2, general.PerShard.Count);
    }
}
