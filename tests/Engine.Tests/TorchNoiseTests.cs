using System.Text.Json;
using Dsoup.Engine.Random;
using Dsoup.Engine.Tests.Harness;

namespace Dsoup.Engine.Tests;

/// <summary>The noise generators against PyTorch's own numbers, so a seed gives the image other tools give.</summary>
public class TorchNoiseTests
{
    private static readonly string FixturePath = Path.Combine(AppContext.BaseDirectory, "Fixtures", "rng", "torch_cpu_randn.json");

    public static TheoryData<int> CpuCases()
    {
        var data = new TheoryData<int>();
        int count = JsonDocument.Parse(File.ReadAllText(FixturePath)).RootElement.GetProperty("cases").GetArrayLength();
        for (int i = 0; i < count; i++)
        {
            data.Add(i);
        }
        return data;
    }

    /// <summary>torch.randn(n, generator=torch.Generator("cpu").manual_seed(seed)), several calls in a row (make_rng_fixtures.py).</summary>
    [Theory]
    [MemberData(nameof(CpuCases))]
    public void TorchCpuNoiseMatchesTorch(int index)
    {
        JsonElement c = JsonDocument.Parse(File.ReadAllText(FixturePath)).RootElement.GetProperty("cases")[index];
        var generator = new TorchCpuNoise(c.GetProperty("seed").GetUInt64());
        foreach (JsonElement draw in c.GetProperty("draws").EnumerateArray())
        {
            double[] expected = draw.EnumerateArray().Select(e => e.GetDouble()).ToArray();
            var actual = new float[expected.Length];
            generator.Normal(actual);
            // torch's vectorised f32 log/sin/cos may differ from .NET's by an ulp or two.
            Reference.AssertClose(actual, expected, 2e-6, 2e-6, $"torch-cpu seed {c.GetProperty("seed")} draw of {expected.Length}");
        }
    }

    /// <summary>torch.manual_seed(42); torch.randn(3, device="cuda") as PyTorch prints it (the issue's oracle values).</summary>
    [Fact]
    public void PhiloxNoiseMatchesTorchsCudaGenerator()
    {
        var actual = new float[3];
        new PhiloxNoise(42).Normal(actual);
        Reference.AssertClose(actual, [0.19401887, 2.16137385, -0.17205060], 1e-6, 1e-7, "philox seed 42");
    }

    [Fact]
    public void EachPhiloxCallStartsANewOffsetAndEachSeedItsOwnStream()
    {
        var generator = new PhiloxNoise(7);
        float[] first = new float[64], second = new float[64], other = new float[64];
        generator.Normal(first);
        generator.Normal(second);
        new PhiloxNoise(8).Normal(other);
        Assert.NotEqual(first, second);
        Assert.NotEqual(first, other);
        var again = new float[64];
        new PhiloxNoise(7).Normal(again);
        Assert.Equal(first, again);
        Assert.InRange(first.Average(), -0.5, 0.5);
    }
}
