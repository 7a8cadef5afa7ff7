using Dsoup.Engine.Tensors;
using Dsoup.Models.Data;
using Dsoup.Models.Pipelines;
using Dsoup.Models.Text;
using Dsoup.Models.Vae;

namespace Dsoup.Models.Training;

/// <summary>
/// What the frozen VAE and text encoder make of a dataset, computed once: each image's latent distribution
/// (and its mirror image's, with random flips) and each distinct caption's hidden states. Images that cannot be
/// read are skipped and reported by name.
/// </summary>
internal sealed class TrainingData
{
    private readonly List<(LatentDistribution Plain, LatentDistribution? Flipped)> latents = [];
    private readonly List<TrainingExample> kept = [];
    private readonly Dictionary<string, float[]> states = new(StringComparer.Ordinal);

    public TrainingData(StableDiffusionModel model, IReadOnlyList<TrainingExample> examples, int resolution, bool flips, Action<string> warn)
    {
        ClipTokenizer tokenizer = model.Tokenizer;
        foreach (TrainingExample example in examples)
        {
            if (example.TryLoad(resolution, warn) is not float[] pixels)
            {
                Skipped++;
                continue;
            }
            latents.Add((Encode(model, pixels, resolution), flips ? Encode(model, Mirror(pixels, resolution), resolution) : null));
            kept.Add(example);
            Encode(model, tokenizer, example.Caption);
        }
        if (latents.Count == 0)
        {
            throw new InvalidDataException($"none of the {examples.Count} images could be read; nothing to train on");
        }
        Encode(model, tokenizer, "");
        LatentShape = latents[0].Plain.Shape;
    }

    public int Count => latents.Count;

    /// <summary>The examples that could be read, in order: index i of the latents and captions is this list's i.</summary>
    public IReadOnlyList<TrainingExample> Examples => kept;

    public int Skipped { get; }

    /// <summary>[1, C, h, w] of one image's latent.</summary>
    public Shape LatentShape { get; }

    public LatentDistribution Latent(int index, bool flipped) => flipped ? latents[index].Flipped ?? latents[index].Plain : latents[index].Plain;

    public string Caption(int index) => kept[index].Caption;

    /// <summary>The text encoder's hidden states for a caption, [tokens · hidden].</summary>
    public float[] States(string caption) => states[caption];

    private static LatentDistribution Encode(StableDiffusionModel model, float[] pixels, int resolution)
    {
        using var scope = model.Device.BeginStep();
        using Tensor x = Tensor.FromArray(pixels.Select(v => 2 * v - 1).ToArray(), new Shape(1, 3, resolution, resolution), model.DType, model.Device);
        return model.Vae.Encode(x);
    }

    private void Encode(StableDiffusionModel model, ClipTokenizer tokenizer, string caption)
    {
        if (states.ContainsKey(caption))
        {
            return;
        }
        using var scope = model.Device.BeginStep();
        states[caption] = model.TextEncoder.Forward(tokenizer.Encode(caption, model.PadToken).Ids, 1).ToArray();
    }

    private static float[] Mirror(float[] pixels, int size)
    {
        var mirrored = new float[pixels.Length];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++)
                    mirrored[(c * size + y) * size + x] = pixels[(c * size + y) * size + size - 1 - x];
        return mirrored;
    }
}
