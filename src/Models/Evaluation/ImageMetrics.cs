using Dsoup.Models.Data;
using Dsoup.Models.Pipelines;

namespace Dsoup.Models.Evaluation;

/// <summary>A model's image metrics: how often its images show the prompted class, their Fréchet distance to held-out images, and how close they come to training images.</summary>
public sealed record ImageScores(string Model, int Images, double PromptAccuracy, double Frechet, double Memorization, IReadOnlyList<ShardMemorization> PerShard);

/// <summary>
/// Memorization on one shard: the mean distance (classifier features) from generated images prompted with the
/// shard's captions to the nearest training image of the shard, divided by the same distance for held-out real
/// images of the shard. Below 1, the model's images sit closer to its training images than new real images do.
/// </summary>
public sealed record ShardMemorization(string Shard, int Images, double GeneratedDistance, double HeldOutDistance)
{
    public double Ratio => GeneratedDistance / HeldOutDistance;
}

/// <summary>How images are generated for the metrics: one per held-out caption, seeded by its position.</summary>
public sealed record ImageSettings(int Resolution = 64, int Steps = 20, float CfgScale = 3f, string Sampler = "ddim", ulong Seed = 0)
{
    /// <summary>One image (RGB [3, H, W] in [0, 1]) for <paramref name="prompt"/>, seeded by Seed + <paramref name="index"/>.</summary>
    public float[] Generate(TextToImage pipeline, string prompt, int index) => pipeline.Generate(new GenerationSettings
    {
        Prompt = prompt, Width = Resolution, Height = Resolution, Steps = Steps, CfgScale = CfgScale, Sampler = Sampler, Seed = Seed + (ulong)index,
    }).Pixels;
}

/// <summary>
/// Image metrics from a classifier the engine trains on the training split (its accuracy on the held-out split is
/// reported with the numbers): one image is generated per held-out caption, classified, and compared in feature
/// space with the held-out images (Fréchet distance) and with the training images of the caption's shard
/// (memorization). Features of the real images are computed once and shared by every model.
/// </summary>
public sealed class ImageMetrics : IDisposable
{
    private readonly ImageClassifier classifier;
    private readonly IReadOnlyList<TrainingExample> heldOut;
    private readonly int[] heldOutShard;
    private readonly float[][] heldOutFeatures;
    private readonly Dictionary<int, float[][]> trainingFeatures;
    private readonly ImageSettings settings;

    /// <summary>At most this many training images (an even stride through the set) train the classifier and serve as memorization neighbours.</summary>
    public const int MaxTrainingImages = 4096;

    public ImageMetrics(IReadOnlyList<TrainingExample> training, int[] trainingShard, IReadOnlyList<TrainingExample> heldOut, int[] heldOutShard,
        ImageSettings settings, Engine.Devices.Device device, Action<string> warn, ulong seed = 0)
    {
        if (training.Concat(heldOut).Any(e => e.Label is null))
        {
            throw new InvalidDataException("image metrics need labelled data (fashion-mnist, embedded) to train their classifier; a folder of images has no labels");
        }
        this.settings = settings;
        // An even stride through a large training set bounds the decoding and the nearest-neighbour search.
        int stride = Math.Max(1, (training.Count + MaxTrainingImages - 1) / MaxTrainingImages);
        var trainingImages = Readable(training.Where((_, i) => i % stride == 0).ToList(), trainingShard.Where((_, i) => i % stride == 0).ToArray(), warn);
        var heldOutImages = Readable(heldOut, heldOutShard, warn);
        classifier = ImageClassifier.Train(trainingImages.Select(t => (t.Image, t.Example.Label!)).ToList(), device, seed);
        ClassifierAccuracy = classifier.Accuracy(heldOutImages.Select(t => (t.Image, t.Example.Label!)).ToList());
        this.heldOut = heldOutImages.Select(t => t.Example).ToList();
        this.heldOutShard = heldOutImages.Select(t => t.Shard).ToArray();
        heldOutFeatures = classifier.Features(heldOutImages.Select(t => t.Image).ToList());
        trainingFeatures = trainingImages.GroupBy(t => t.Shard).ToDictionary(g => g.Key, g => classifier.Features(g.Select(t => t.Image).ToList()));
    }

    /// <summary>The classifier's accuracy on the held-out images: how far its verdicts on generated images can be trusted.</summary>
    public double ClassifierAccuracy { get; }

    public IReadOnlyList<string> Classes => classifier.Classes;

    /// <summary>Generates one image per held-out caption with <paramref name="model"/> and scores them; returns the images too (RGB [3, H, W] in [0, 1]).</summary>
    public (ImageScores Scores, IReadOnlyList<float[]> Images) Score(string name, StableDiffusionModel model)
    {
        var pipeline = new TextToImage(model);
        var images = new List<float[]>();
        for (int i = 0; i < heldOut.Count; i++)
        {
            images.Add(settings.Generate(pipeline, heldOut[i].Caption, i));
        }
        return (ScoreImages(name, images, settings.Resolution), images);
    }

    /// <summary>Scores images made for the held-out captions, in their order (RGB [3, size, size] in [0, 1]).</summary>
    public ImageScores ScoreImages(string name, IReadOnlyList<float[]> images, int size)
    {
        if (images.Count != heldOut.Count)
        {
            throw new ArgumentException($"one image per held-out caption is needed: {heldOut.Count}; got {images.Count}");
        }
        var small = images.Select(image => Downscale(image, size, ImageClassifier.Side)).ToList();
        string[] predicted = classifier.Predict(small);
        double accuracy = predicted.Where((p, i) => p == heldOut[i].Label).Count() / (double)heldOut.Count;
        float[][] features = classifier.Features(small);
        double frechet = FrechetDistance.Between(features, heldOutFeatures);
        var perShard = heldOutShard.Distinct().Order().Where(trainingFeatures.ContainsKey).Select(shard =>
        {
            int[] members = Enumerable.Range(0, heldOut.Count).Where(i => heldOutShard[i] == shard).ToArray();
            float[][] train = trainingFeatures[shard];
            return new ShardMemorization($"shard {shard}", members.Length,
                members.Average(i => NearestDistance(features[i], train)), members.Average(i => NearestDistance(heldOutFeatures[i], train)));
        }).ToList();
        double memorization = perShard.Sum(s => s.Images * s.Ratio) / perShard.Sum(s => s.Images);
        return new ImageScores(name, heldOut.Count, accuracy, frechet, memorization, perShard);
    }

    private static List<(TrainingExample Example, float[] Image, int Shard)> Readable(IReadOnlyList<TrainingExample> examples, int[] shards, Action<string> warn)
    {
        var readable = new List<(TrainingExample, float[], int)>();
        for (int i = 0; i < examples.Count; i++)
        {
            if (examples[i].TryLoad(ImageClassifier.Side, warn) is float[] image)
            {
                readable.Add((examples[i], image, shards[i]));
            }
        }
        return readable;
    }

    private static double NearestDistance(float[] x, float[][] set)
    {
        double best = double.PositiveInfinity;
        foreach (float[] y in set)
        {
            double sum = 0;
            for (int i = 0; i < x.Length; i++)
            {
                double d = x[i] - y[i];
                sum += d * d;
            }
            best = Math.Min(best, sum);
        }
        return Math.Sqrt(best);
    }

    /// <summary>Box-filters RGB [3, size, size] down to [3, side, side] (size a multiple of side).</summary>
    public static float[] Downscale(float[] image, int size, int side)
    {
        if (size == side)
        {
            return image;
        }
        if (size % side != 0)
        {
            throw new ArgumentException($"images of {size} px cannot be box-filtered to {side} px; use a multiple of {side}");
        }
        int f = size / side;
        var result = new float[3 * side * side];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < side; y++)
                for (int x = 0; x < side; x++)
                {
                    float sum = 0;
                    for (int dy = 0; dy < f; dy++)
                        for (int dx = 0; dx < f; dx++)
                            sum += image[(c * size + y * f + dy) * size + x * f + dx];
                    result[(c * side + y) * side + x] = sum / (f * f);
                }
        return result;
    }

    public void Dispose() => classifier.Dispose();
}
