using Dsoup.Engine.Devices;
using Dsoup.Models.Data;
using Dsoup.Models.Evaluation;

namespace Dsoup.Models.Tests.Evaluation;

public sealed class ImageMetricTests
{
    private static float[][] Points(int count, int dims, int seed, Func<double, double> map)
    {
        var random = new System.Random(seed);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, dims).Select(_ => (float)map(random.NextDouble() * 2 - 1)).ToArray()).ToArray();
    }

    [Fact]
    public void FrechetDistanceOfAShiftIsTheSquaredShiftAndOfADoublingTheTrace()
    {
        float[][] a = Points(200, 5, 1, v => v);
        // Same covariance, mean moved by (1, 2, 0, 0, 0): the distance is exactly 1² + 2².
        float[][] shifted = a.Select(p => p.Select((v, i) => v + (i == 0 ? 1f : i == 1 ? 2f : 0f)).ToArray()).ToArray();
        Assert.Equal(5.0, FrechetDistance.Between(a, shifted), 4);
        // Doubled about the mean: Σ₂ = 4Σ₁, so tr Σ₁ + 4 tr Σ₁ − 2·2 tr Σ₁ = tr Σ₁ (+ no mean change when centred).
        double[] mean = Enumerable.Range(0, 5).Select(i => a.Average(p => (double)p[i])).ToArray();
        float[][] doubled = a.Select(p => p.Select((v, i) => (float)(mean[i] + 2 * (v - mean[i]))).ToArray()).ToArray();
        double trace = Enumerable.Range(0, 5).Sum(i => a.Sum(p => Math.Pow(p[i] - mean[i], 2)) / (a.Length - 1));
        Assert.Equal(trace, FrechetDistance.Between(a, doubled), 4);
        Assert.Equal(0.0, FrechetDistance.Between(a, a), 6);
    }

    [Fact]
    public void TheClassifierLearnsTheEmbeddedShapes()
    {
        var training = EmbeddedImages.Load().Select(e => (e.Load(ImageClassifier.Side), e.Label!)).ToList();
        var heldOut = Datasets.Open("embedded:test").Select(e => (e.Load(ImageClassifier.Side), e.Label!)).ToList();
        using var classifier = ImageClassifier.Train(training, Device.Get("cpu"), seed: 3);
        Assert.Equal(["circle", "cross", "square", "triangle"], classifier.Classes);
        Assert.True(classifier.Accuracy(heldOut) > 0.9, $"held-out accuracy {classifier.Accuracy(heldOut)}");
        Assert.Equal(ImageClassifier.FeatureCount, classifier.Features([heldOut[0].Item1])[0].Length);
    }

    [Fact]
    public void DownscaleAveragesEachBlock()
    {
        float[] image = Enumerable.Range(0, 3 * 4 * 4).Select(i => (float)i).ToArray();
        float[] small = ImageMetrics.Downscale(image, 4, 2);
        // Channel 0, block (0, 0): pixels 0, 1, 4, 5.
        Assert.Equal(2.5f, small[0]);
        Assert.Equal((16 + 17 + 20 + 21) / 4f, small[4]);
        Assert.Throws<ArgumentException>(() => ImageMetrics.Downscale(image, 4, 3));
    }
}
