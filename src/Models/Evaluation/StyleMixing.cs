using Dsoup.Engine.Devices;
using Dsoup.Models.Data;
using Dsoup.Models.Pipelines;

namespace Dsoup.Models.Evaluation;

/// <summary>How often a model's images for the held-back style pair show the colour, the texture, and both.</summary>
public sealed record StyleScores(string Model, int Images, double Colour, double Texture, double Both);

/// <summary>
/// Zero-shot style mixing on the embedded data, which never shows its held-back pair (a red shape with stripes):
/// each model is prompted "a red {shape} with stripes" and two attribute classifiers trained here on the embedded
/// training images (one for colour, one for texture) say whether the images show red, stripes, or both. Their
/// accuracy on drawn images of the held-back pair, which they never saw either, is reported with the scores.
/// </summary>
public sealed class StyleMixing : IDisposable
{
    private readonly ImageClassifier colour, texture;
    private readonly ImageSettings settings;
    private readonly int perShape;

    public StyleMixing(Device device, ImageSettings settings, int imagesPerShape = 4)
    {
        this.settings = settings;
        perShape = imagesPerShape;
        var training = Enumerable.Range(0, EmbeddedImages.TrainingCount).Select(EmbeddedImages.AttributesOf).ToList();
        var images = training.Select(a => EmbeddedImages.Draw(a, ImageClassifier.Side)).ToList();
        colour = ImageClassifier.Train(training.Select((a, i) => (images[i], a.Colour)).ToList(), device, seed: 21);
        texture = ImageClassifier.Train(training.Select((a, i) => (images[i], a.Texture)).ToList(), device, seed: 22);
        var heldBack = EmbeddedImages.Shapes.SelectMany(shape => Enumerable.Range(0, 8).Select(i =>
            EmbeddedImages.Draw(EmbeddedImages.Place(shape, EmbeddedImages.HeldBackColour, EmbeddedImages.HeldBackTexture, 10_000 + i), ImageClassifier.Side))).ToList();
        ClassifierAccuracy = Judge(heldBack, ImageClassifier.Side);
    }

    /// <summary>The classifiers on drawn images of the held-back pair: the share they call red, stripes, and both.</summary>
    public (double Colour, double Texture, double Both) ClassifierAccuracy { get; }

    /// <summary>The prompts: "a red {shape} with stripes" for each shape.</summary>
    public static IReadOnlyList<string> Prompts =>
        EmbeddedImages.Shapes.Select(shape => EmbeddedImages.Caption(shape, EmbeddedImages.HeldBackColour, EmbeddedImages.HeldBackTexture)).ToList();

    public (StyleScores Scores, IReadOnlyList<float[]> Images) Score(string name, StableDiffusionModel model)
    {
        var pipeline = new TextToImage(model);
        var images = new List<float[]>();
        foreach (string prompt in Prompts)
        {
            for (int i = 0; i < perShape; i++)
            {
                images.Add(settings.Generate(pipeline, prompt, i));
            }
        }
        (double c, double t, double both) = Judge(images, settings.Resolution);
        return (new StyleScores(name, images.Count, c, t, both), images);
    }

    private (double Colour, double Texture, double Both) Judge(IReadOnlyList<float[]> images, int size)
    {
        var small = images.Select(image => ImageMetrics.Downscale(image, size, ImageClassifier.Side)).ToList();
        string[] colours = colour.Predict(small), textures = texture.Predict(small);
        double Share(Func<int, bool> holds) => Enumerable.Range(0, images.Count).Count(holds) / (double)images.Count;
        return (Share(i => colours[i] == EmbeddedImages.HeldBackColour), Share(i => textures[i] == EmbeddedImages.HeldBackTexture),
            Share(i => colours[i] == EmbeddedImages.HeldBackColour && textures[i] == EmbeddedImages.HeldBackTexture));
    }

    public void Dispose()
    {
        colour.Dispose();
        texture.Dispose();
    }
}
