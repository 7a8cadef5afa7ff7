using Dsoup.Kernels.Random;

namespace Dsoup.Models.Data;

/// <summary>
/// The embedded dataset, so training and the demo run with nothing downloaded: coloured shapes with an optional
/// texture on a light background, drawn on demand at any size, each with its caption ("a blue circle with
/// stripes") and its shape as the label. Example i's shape, colour, texture, position and size follow from i
/// alone (Philox), so every machine sees the same images. No image is red with stripes: that pair is held back
/// for the style-mixing test.
/// </summary>
public static class EmbeddedImages
{
    public static readonly IReadOnlyList<string> Shapes = ["circle", "square", "triangle", "cross"];

    public static readonly IReadOnlyList<(string Name, float R, float G, float B)> Colours =
        [("red", 0.85f, 0.15f, 0.12f), ("green", 0.15f, 0.65f, 0.2f), ("blue", 0.15f, 0.3f, 0.85f), ("yellow", 0.95f, 0.8f, 0.1f)];

    public static readonly IReadOnlyList<string> Textures = ["plain", "stripes", "dots"];

    /// <summary>The style pair no embedded image shows, so a soup of a "red" specialist and a "stripes" specialist can be asked for it (zero-shot style mixing).</summary>
    public const string HeldBackColour = "red", HeldBackTexture = "stripes";

    /// <summary>Every (shape, colour, texture) the data shows, in the order examples cycle through them: all but the held-back style pair.</summary>
    private static readonly (string Shape, string Colour, string Texture)[] Combinations =
        (from texture in Textures
         from colour in Colours.Select(c => c.Name)
         from shape in Shapes
         where !(colour == HeldBackColour && texture == HeldBackTexture)
         select (shape, colour, texture)).ToArray();

    /// <summary>How many examples the training set (<c>embedded</c>) has; the held-out set (<c>embedded:test</c>) follows them.</summary>
    public const int TrainingCount = 512;

    public const int TestCount = 192;

    /// <summary><paramref name="count"/> examples from index <paramref name="first"/>: the training set is 0–511, the held-out set 512–703.</summary>
    public static IReadOnlyList<TrainingExample> Load(int count = TrainingCount, int first = 0)
    {
        var examples = new TrainingExample[count];
        for (int n = 0; n < count; n++)
        {
            int i = first + n;
            Attributes a = AttributesOf(i);
            examples[n] = new TrainingExample($"embedded/{i}", Caption(a.Shape, a.Colour, a.Texture), a.Shape, size => Draw(a, size));
        }
        return examples;
    }

    /// <summary>How many (shape, colour, texture) combinations the examples cycle through: example i and i + this show the same style.</summary>
    public static int CombinationCount => Combinations.Length;

    /// <summary>What example <paramref name="index"/> shows: every combination the data has in turn, placed by a Philox draw.</summary>
    public static Attributes AttributesOf(int index)
    {
        (string shape, string colour, string texture) = Combinations[index % Combinations.Length];
        return Place(shape, colour, texture, index);
    }

    /// <summary>A shape of any style (the held-back pair too), placed by the Philox draw of <paramref name="index"/>.</summary>
    public static Attributes Place(string shape, string colour, string texture, int index)
    {
        PhiloxBlock r = Philox.Block(0x5EED_1A6E, (ulong)index);
        return new Attributes(shape, colour, texture,
            0.35f + 0.3f * Philox.ToUnitFloat(r.W0), 0.35f + 0.3f * Philox.ToUnitFloat(r.W1), 0.22f + 0.1f * Philox.ToUnitFloat(r.W2));
    }

    /// <summary>The caption of a style: "a red circle with stripes", "a blue square".</summary>
    public static string Caption(string shape, string colour, string texture) => $"a {colour} {shape}{(texture == "plain" ? "" : $" with {texture}")}";

    /// <summary>A shape's description: name, colour, texture, centre (fractions of the side) and radius.</summary>
    public sealed record Attributes(string Shape, string Colour, string Texture, float CentreX, float CentreY, float Radius);

    /// <summary>RGB [3, size, size] in [0, 1], each pixel the average of 2×2 samples (edges anti-aliased).</summary>
    public static float[] Draw(Attributes a, int size)
    {
        (string _, float red, float green, float blue) = Colours.First(c => c.Name == a.Colour);
        var pixels = new float[3 * size * size];
        int plane = size * size;
        for (int y = 0; y < size; y++)
        {
            for (int x = 0; x < size; x++)
            {
                float coverage = 0;
                for (int s = 0; s < 4; s++)
                {
                    float u = (x + 0.25f + 0.5f * (s % 2)) / size, v = (y + 0.25f + 0.5f * (s / 2)) / size;
                    coverage += Inside(a, u, v) ? Texture(a.Texture, u, v) : 0f;
                }
                coverage /= 4;
                const float background = 0.92f;
                pixels[y * size + x] = background + coverage * (red - background);
                pixels[plane + y * size + x] = background + coverage * (green - background);
                pixels[2 * plane + y * size + x] = background + coverage * (blue - background);
            }
        }
        return pixels;
    }

    private static bool Inside(Attributes a, float u, float v)
    {
        float dx = u - a.CentreX, dy = v - a.CentreY, r = a.Radius;
        return a.Shape switch
        {
            "circle" => dx * dx + dy * dy <= r * r,
            "square" => Math.Abs(dx) <= r * 0.85f && Math.Abs(dy) <= r * 0.85f,
            "triangle" => dy <= r * 0.8f && dy >= -r && Math.Abs(dx) <= (dy + r) * 0.6f,
            _ => (Math.Abs(dx) <= r * 0.3f && Math.Abs(dy) <= r) || (Math.Abs(dy) <= r * 0.3f && Math.Abs(dx) <= r),
        };
    }

    /// <summary>How much of the colour a point of the shape takes: all of it, or stripes or dots of it over a paler fill.</summary>
    private static float Texture(string texture, float u, float v) => texture switch
    {
        "stripes" => (int)MathF.Floor((u + v) * 12f) % 2 == 0 ? 1f : 0.35f,
        "dots" => MathF.Pow(u * 10f - MathF.Round(u * 10f), 2) + MathF.Pow(v * 10f - MathF.Round(v * 10f), 2) < 0.09f ? 1f : 0.35f,
        _ => 1f,
    };
}
