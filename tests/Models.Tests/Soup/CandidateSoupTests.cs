using Dsoup.Engine.Devices;
using Dsoup.Models.Soup;

namespace Dsoup.Models.Tests.Soup;

/// <summary>In-memory candidate soups against float64 means of the same ingredients, on both backends.</summary>
public sealed class CandidateSoupTests : IDisposable
{
    private readonly SoupFixture fixture = new();

    [Theory]
    [InlineData("cpu", "unet.down_blocks.")]
    [InlineData("ilgpu-cpu", "unet.time_embedding.")] // the ILGPU CPU simulator is slow: a few tensors
    public void TryAcceptAndRemoveMatchTheFloat64Means(string deviceName, string prefix)
    {
        Device device = Device.Get(deviceName);
        string[] paths = [fixture.Variant(1), fixture.Variant(2), fixture.Variant(3)];
        var values = paths.Select(SoupFixture.Values).ToArray();
        var models = paths.Select(ModelCheckpoint.Open).ToArray();
        try
        {
            using var soup = new CandidateSoup(device, name => name.StartsWith(prefix, StringComparison.Ordinal));
            soup.Accept(models[0], "v1");
            soup.Accept(models[1], "v2", weight: 3);
            using (SoupWeights tried = soup.Try(models[2], "v3", weight: 2))
            {
                AssertMean(tried, values, [1, 3, 2], prefix);
            }
            using (SoupWeights current = soup.Mean())
            {
                AssertMean(current, values, [1, 3, 0], prefix); // Try left the soup as it was
            }
            soup.Accept(models[2], "v3", weight: 2);
            soup.Remove(models[1], "v2");
            Assert.Equal(["v1", "v3"], soup.Members.Select(m => m.Name));
            using (SoupWeights afterRemoval = soup.Mean())
            {
                AssertMean(afterRemoval, values, [1, 0, 2], prefix);
            }
        }
        finally
        {
            foreach (var m in models)
            {
                m.Dispose();
            }
        }
    }

    [Fact]
    public void AnIngredientOfAnotherShapeIsRefusedByName()
    {
        using var model = ModelCheckpoint.Open(fixture.Variant(1));
        string inpaintPath = fixture.File("inpaint.safetensors");
        Synthetic.SyntheticCheckpoint.Write(inpaintPath, new Synthetic.SyntheticOptions(ModelFamily.TinyInpainting, CheckpointLayout.Original, StorageType.F16, 7, 9, 0.1f));
        using var inpaint = ModelCheckpoint.Open(inpaintPath);
        using var soup = new CandidateSoup(Device.Get("cpu"));
        soup.Accept(model, "v1");
        var error = Assert.Throws<InvalidDataException>(() => soup.Try(inpaint, "inpaint").Dispose());
        Assert.Contains("conv_in", error.Message);
        Assert.Contains("inpaint", error.Message);
        Assert.Throws<ArgumentException>(() => soup.Remove(model, "never-added"));
    }

    private static void AssertMean(SoupWeights weights, Dictionary<string, (double[] Values, StorageType Type)>[] inputs, double[] w, string prefix)
    {
        Assert.Equal(inputs[0].Keys.Count(k => k.StartsWith(prefix, StringComparison.Ordinal)), weights.Tensors.Count);
        foreach (var (name, tensor) in weights.Tensors)
        {
            float[] got = tensor.ToArray();
            for (int i = 0; i < got.Length; i++)
            {
                double sum = 0, magnitude = 0;
                for (int k = 0; k < inputs.Length; k++)
                {
                    sum += w[k] * inputs[k][name].Values[i];
                    magnitude += w[k] * Math.Abs(inputs[k][name].Values[i]);
                }
                double expected = sum / w.Sum();
                // float32 sums of at most three terms, a scale, and an add/subtract round trip: a few f32 ulps of the magnitudes.
                Assert.True(Math.Abs(got[i] - expected) <= 8 * 6e-8 * magnitude / w.Sum() + 1e-30, $"{name}[{i}]: {got[i]} vs {expected}");
            }
        }
    }

    public void Dispose() => fixture.Dispose();
}
