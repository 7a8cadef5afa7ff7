using Dsoup.Engine;
using Dsoup.Engine.Devices;
using Dsoup.Engine.Optim;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels;

namespace Dsoup.Models.Evaluation;

/// <summary>
/// A small convolutional classifier the engine trains on a dataset itself, with its own ops, to measure generated
/// images: 32×32 RGB → four 3×3 convolutions with SiLU (the last three with stride 2) → global average pool (the
/// 64 features the Fréchet distance and the memorization score use) → linear → softmax, trained with the Brier
/// score (MSE against one-hot labels) by AdamW. Deterministic for a seed.
/// </summary>
public sealed class ImageClassifier : IDisposable
{
    public const int Side = 32;
    public const int FeatureCount = 64;
    private static readonly int[] Widths = [3, 16, 32, 64, FeatureCount];

    private readonly Device device;
    private readonly Tensor[] parameters;

    private ImageClassifier(Device device, IReadOnlyList<string> classes, ulong seed)
    {
        this.device = device;
        Classes = classes;
        var list = new List<Tensor>();
        for (int layer = 0; layer < 4; layer++)
        {
            int fanIn = Widths[layer] * 9;
            list.Add(Owned(Tensor.RandN(new Shape(Widths[layer + 1], Widths[layer], 3, 3), seed + (ulong)layer, DType.F32, device) * MathF.Sqrt(2f / fanIn)));
            list.Add(Owned(Tensor.Zeros(new Shape(Widths[layer + 1]), DType.F32, device)));
        }
        list.Add(Owned(Tensor.RandN(new Shape(classes.Count, FeatureCount), seed + 10, DType.F32, device) * MathF.Sqrt(1f / FeatureCount)));
        list.Add(Owned(Tensor.Zeros(new Shape(classes.Count), DType.F32, device)));
        parameters = [.. list];
    }

    /// <summary>The class names, in the order of the logits.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Trains a classifier on (image, label) pairs; images are RGB [3, 32, 32] in [0, 1].</summary>
    public static ImageClassifier Train(IReadOnlyList<(float[] Image, string Label)> examples, Device device, ulong seed = 0, int steps = 400, int batch = 32, float learningRate = 3e-3f)
    {
        string[] classes = examples.Select(e => e.Label).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (classes.Length < 2)
        {
            throw new InvalidDataException($"a classifier needs at least two classes; the data has {classes.Length}");
        }
        var classifier = new ImageClassifier(device, classes, seed);
        foreach (Tensor p in classifier.parameters)
        {
            p.RequiresGrad = true;
        }
        int pixels = 3 * Side * Side;
        using (var adam = new AdamW(classifier.parameters, learningRate, weightDecay: 1e-4f))
        {
            for (int step = 0; step < steps; step++)
            {
                var images = new float[batch * pixels];
                var targets = new float[batch * classes.Length];
                for (int j = 0; j < batch; j++)
                {
                    // A fixed pseudo-random order: Philox by (seed, sample).
                    int index = (int)(((ulong)Kernels.Random.Philox.Block(seed ^ 0xC1A55, (ulong)(step * batch + j)).W0 * (ulong)examples.Count) >> 32);
                    examples[index].Image.CopyTo(images, j * pixels);
                    targets[j * classes.Length + Array.IndexOf(classes, examples[index].Label)] = 1f;
                }
                using (device.BeginStep())
                {
                    using Tensor x = Tensor.FromArray(images, new Shape(batch, 3, Side, Side), DType.F32, device);
                    using Tensor y = Tensor.FromArray(targets, new Shape(batch, classes.Length), DType.F32, device);
                    using var tape = Engine.Autograd.Tape.Start();
                    Tensor loss = Ops.MseLoss(Ops.Softmax(classifier.Logits(classifier.Features(x))), y);
                    tape.Backward(loss);
                    adam.Step(maxGradNorm: 1f);
                    adam.ZeroGrad();
                }
            }
        }
        foreach (Tensor p in classifier.parameters)
        {
            p.RequiresGrad = false;
        }
        return classifier;
    }

    /// <summary>The most likely class of each image.</summary>
    public string[] Predict(IReadOnlyList<float[]> images) => Run(images, logits: true).Select(l => Classes[Array.IndexOf(l, l.Max())]).ToArray();

    /// <summary>The pooled 64-dimensional features of each image.</summary>
    public float[][] Features(IReadOnlyList<float[]> images) => Run(images, logits: false);

    /// <summary>The share of images predicted as their label.</summary>
    public double Accuracy(IReadOnlyList<(float[] Image, string Label)> examples)
    {
        string[] predicted = Predict(examples.Select(e => e.Image).ToList());
        return examples.Count == 0 ? double.NaN : predicted.Where((p, i) => p == examples[i].Label).Count() / (double)examples.Count;
    }

    private float[][] Run(IReadOnlyList<float[]> images, bool logits)
    {
        int pixels = 3 * Side * Side, width = logits ? Classes.Count : FeatureCount;
        var results = new List<float[]>();
        for (int first = 0; first < images.Count; first += 64)
        {
            int count = Math.Min(64, images.Count - first);
            var batch = new float[count * pixels];
            for (int j = 0; j < count; j++)
            {
                images[first + j].CopyTo(batch, j * pixels);
            }
            using (device.BeginStep())
            {
                using Tensor x = Tensor.FromArray(batch, new Shape(count, 3, Side, Side), DType.F32, device);
                Tensor features = Features(x);
                float[] values = (logits ? Logits(features) : features).ToArray();
                for (int j = 0; j < count; j++)
                {
                    results.Add(values.AsSpan(j * width, width).ToArray());
                }
            }
        }
        return [.. results];
    }

    private Tensor Features(Tensor x)
    {
        Tensor h = x;
        for (int layer = 0; layer < 4; layer++)
        {
            h = Ops.Silu(Ops.Conv2d(h, parameters[2 * layer], parameters[2 * layer + 1], layer == 0 ? 1 : 2, Padding2d.Same(1)));
        }
        return Ops.Mean(h.Reshape(h.Shape[0], FeatureCount, h.Shape[2] * h.Shape[3]), 2);
    }

    private Tensor Logits(Tensor features) => Ops.Linear(features, parameters[8], parameters[9]);

    private static Tensor Owned(Tensor t)
    {
        Tensor owned = t.Persist();
        t.Dispose();
        return owned;
    }

    public void Dispose()
    {
        foreach (Tensor p in parameters)
        {
            p.Dispose();
        }
    }
}
