using System.Text.Json;
using Dsoup.Engine.Random;
using Dsoup.Models.Schedulers;

namespace Dsoup.Models.Tests.Schedulers;

/// <summary>
/// The samplers against diffusers v0.27.2's own schedulers, step by step (Fixtures/schedulers/trajectories.json,
/// written by make_scheduler_fixtures.py beside it), and against the RNG-free known answers of diffusers' scheduler tests.
/// </summary>
public class SchedulerTests
{
    private static readonly string FixturePath = Path.Combine(AppContext.BaseDirectory, "Fixtures", "schedulers", "trajectories.json");
    private static readonly Lazy<JsonElement> Fixture = new(() => JsonDocument.Parse(File.ReadAllText(FixturePath)).RootElement);

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (JsonElement c in JsonDocument.Parse(File.ReadAllText(FixturePath)).RootElement.GetProperty("cases").EnumerateArray())
        {
            data.Add(c.GetProperty("name").GetString()!);
        }
        return data;
    }

    /// <summary>Rebuilds the case's scheduler from its name: sampler[-karras]-prediction-spacing[-steps].</summary>
    private static IScheduler SchedulerFor(string name)
    {
        string[] parts = name.Split('-');
        bool karras = parts[1] == "karras";
        string[] rest = parts.Skip(karras ? 2 : 1).ToArray();
        var config = new SchedulerConfig
        {
            Prediction = rest[0] == "epsilon" ? PredictionType.Epsilon : PredictionType.VPrediction,
            Spacing = rest[1] switch { "leading" => TimestepSpacing.Leading, "trailing" => TimestepSpacing.Trailing, _ => TimestepSpacing.Linspace },
            KarrasSigmas = karras,
        };
        return Samplers.Create(parts[0], config);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void FollowsDiffusersStepByStep(string name)
    {
        JsonElement c = Fixture.Value.GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        float[] sample0 = Floats(Fixture.Value.GetProperty("sample")), pattern = Floats(Fixture.Value.GetProperty("pattern"));
        IScheduler scheduler = SchedulerFor(name);
        scheduler.SetTimesteps(c.GetProperty("steps").GetInt32());
        // Integer timesteps match exactly; Karras' fractional ones go through numpy's f32 log, which may differ from .NET's by an ulp.
        AssertClose(Floats(c.GetProperty("timesteps")), scheduler.Timesteps.ToArray(), $"{name} timesteps");
        Assert.Equal(c.GetProperty("init_noise_sigma").GetSingle(), scheduler.InitNoiseSigma, 6);
        var noise = new TorchCpuNoise(7);
        float[] x = sample0.Select(v => v * scheduler.InitNoiseSigma).ToArray();
        JsonElement[] inputs = c.GetProperty("inputs").EnumerateArray().ToArray(), samples = c.GetProperty("samples").EnumerateArray().ToArray();
        for (int step = 0; step < scheduler.Timesteps.Count; step++)
        {
            float[] scaled = scheduler.ScaleModelInput(x, step);
            AssertClose(Floats(inputs[step]), scaled, $"{name} model input at step {step}");
            double t = scheduler.Timesteps[step];
            float factor = (float)(t / (t + 1.0));
            float[] output = scaled.Select((v, i) => v * factor + 0.1f * pattern[i]).ToArray();
            x = scheduler.Step(output, step, x, noise);
            AssertClose(Floats(samples[step]), x, $"{name} sample after step {step}");
        }
    }

    /// <summary>diffusers' tests/schedulers full-loop answers (sd-architecture.md §5.9): linear β 1e-4…2e-2, model x·t/(t+1), 10 steps.</summary>
    [Theory]
    [InlineData("ddim", PredictionType.Epsilon, true, true, 0.0001, 172.0067, 0.223967)]
    [InlineData("ddim", PredictionType.VPrediction, true, true, 0.0001, 52.5302, 0.0684)]
    [InlineData("ddim", PredictionType.Epsilon, false, true, 0.01, 149.8295, 0.1951)]
    [InlineData("ddim", PredictionType.Epsilon, false, false, 0.01, 149.0784, 0.1941)]
    public void DdimReproducesDiffusersFullLoopAnswers(string sampler, PredictionType prediction, bool clip, bool alphaToOne,
        double betaStart, double expectedSum, double expectedMean)
    {
        var config = new SchedulerConfig
        {
            BetaSchedule = "linear", BetaStart = betaStart, BetaEnd = 0.02, StepsOffset = 0,
            Prediction = prediction, ClipSample = clip, SetAlphaToOne = alphaToOne,
        };
        IScheduler scheduler = Samplers.Create(sampler, config);
        scheduler.SetTimesteps(10);
        float[] x = DummySample();
        for (int step = 0; step < 10; step++)
        {
            float t = scheduler.Timesteps[step];
            float[] output = x.Select(v => v * t / (t + 1)).ToArray();
            x = scheduler.Step(output, step, x, new TorchCpuNoise(0));
        }
        Assert.Equal(expectedSum, x.Sum(v => Math.Abs((double)v)), 2);
        Assert.Equal(expectedMean, x.Average(v => Math.Abs((double)v)), 3);
    }

    [Fact]
    public void SdLeadingSpacingOfFiftyStepsEndsAtOne()
    {
        IScheduler scheduler = Samplers.Create("ddim", new SchedulerConfig());
        scheduler.SetTimesteps(50);
        Assert.Equal(981f, scheduler.Timesteps[0]);
        Assert.Equal(1f, scheduler.Timesteps[^1]);
        var pndm = Samplers.Create("pndm", new SchedulerConfig());
        pndm.SetTimesteps(50);
        Assert.Equal([981f, 961f, 961f, 941f], pndm.Timesteps.Take(4));
        Assert.Equal(51, pndm.Timesteps.Count);
    }

    /// <summary>sd-architecture.md §5.1's constants, computed in f64 (ldm's way); diffusers' f32 table differs in the 6th digit of σ_min.</summary>
    [Fact]
    public void TrainingScheduleMatchesTheReferenceConstants()
    {
        var schedule = new NoiseSchedule(new SchedulerConfig());
        Assert.Equal(0.99915, schedule.AlphasCumprod[0], 5);
        Assert.Equal(0.0046601, schedule.AlphasCumprod[999], 6);
        Assert.Equal(0.0291672, schedule.Sigmas[0], 5);
        Assert.Equal(14.614641, schedule.Sigmas[999], 4);
    }

    [Fact]
    public void BadSettingsAreRefusedWithTheirNames()
    {
        Assert.Contains("dpm++2m", Assert.Throws<ArgumentException>(() => Samplers.Create("heun", new SchedulerConfig())).Message);
        Assert.Contains("--steps", Assert.Throws<ArgumentOutOfRangeException>(() => Samplers.Create("euler", new SchedulerConfig()).SetTimesteps(0)).Message);
        Assert.Throws<NotSupportedException>(() => Samplers.Create("euler_a", new SchedulerConfig { KarrasSigmas = true }));
    }

    /// <summary>diffusers' dummy_sample_deter: k/768 for k = 0…767, laid out (3, 8, 8, 4) then permuted to (4, 3, 8, 8).</summary>
    private static float[] DummySample()
    {
        var x = new float[768];
        for (int b = 0; b < 4; b++)
            for (int c = 0; c < 3; c++)
                for (int h = 0; h < 8; h++)
                    for (int w = 0; w < 8; w++)
                        x[((b * 3 + c) * 8 + h) * 8 + w] = (((c * 8 + h) * 8 + w) * 4 + b) / 768f;
        return x;
    }

    private static float[] Floats(JsonElement array) => array.EnumerateArray().Select(e => e.GetSingle()).ToArray();

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(v => Math.Abs((double)v));
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 2e-6 * scale + 2e-6 * Math.Abs(expected[i]),
                $"{what}: element {i} is {actual[i]}, diffusers {expected[i]}");
        }
    }
}
